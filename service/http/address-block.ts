/**
 * What per-IP limits count by. An IPv4 address is one client. An IPv6 client is handed a whole
 * /64 (SLAAC, privacy addresses, most providers' smallest allocation) and can take a fresh address
 * from it for every request: counted by address, it would never run out of attempts. So IPv6
 * counts by its /64, written as its prefix ("2001:db8:1:2::/64"); an IPv4-mapped IPv6 address
 * ("::ffff:203.0.113.9", what a dual-stack socket reports for an IPv4 peer) counts as its IPv4.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function addressBlock(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  return `${hextets(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of a valid IPv6 address, '::' expanded, without leading zeros, lower case. */
function hextets(ip: string): string[] {
  // An embedded IPv4 tail ("64:ff9b::192.0.2.1") holds the last two groups, never the /64.
  const [head = '', tail] = ip.toLowerCase().replace(/:\d+\.\d+\.\d+\.\d+$/, ':0:0').split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...missing, ...right].map((group) => (Number.parseInt(group, 16) || 0).toString(16));
}
