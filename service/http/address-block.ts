/**
 * What per-IP limits count by. An IPv4 address is one client. An IPv6 client is handed a whole
 * /64 (SLAAC, privacy addresses, most providers' smallest allocation) and can take a fresh address
 * from it for every request: counted by address, it would never run out of attempts. So IPv6
 * counts by its /64, written as its prefix ("2001:db8:1:2::/64"). An IPv4 client seen through
 * IPv6 counts as its IPv4 address: IPv4-mapped (::ffff:a.b.c.d, what a dual-stack socket reports,
 * in either notation) and NAT64 (64:ff9b::/96, where every IPv4 client would otherwise share one /64).
 */
import { isIPv4, isIPv6 } from 'node:net';

export function addressBlock(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const groups = hextets(ip);
  const prefix = groups.slice(0, 6).join(':');
  if (prefix === '0:0:0:0:0:ffff' || prefix === '64:ff9b:0:0:0:0') return ipv4Of(groups[6]!, groups[7]!);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight groups of a valid IPv6 address, '::' expanded, in lower case without leading zeros. */
function hextets(ip: string): string[] {
  // An embedded IPv4 tail ("::ffff:192.0.2.1") is the last two groups, written another way.
  const tail = /:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  const text = tail && isIPv4(tail[1]!) ? `${ip.slice(0, tail.index)}:${ipv4Groups(tail[1]!)}` : ip;
  const [head = '', rest] = text.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = rest === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...missing, ...right].map((group) => (Number.parseInt(group, 16) || 0).toString(16));
}

function ipv4Groups(ipv4: string): string {
  const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function ipv4Of(high: string, low: string): string {
  const [h, l] = [Number.parseInt(high, 16), Number.parseInt(low, 16)];
  return `${h >> 8}.${h & 255}.${l >> 8}.${l & 255}`;
}
