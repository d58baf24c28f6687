/** The origin of `value` if it is plain HTTP on this machine (127.0.0.0/8, localhost, ::1); throws otherwise. Load is only ever sent there. */
export function loopbackUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${JSON.stringify(value)} is not a URL such as http://127.0.0.1:8090`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'http:' || !(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`${url.origin} is not loopback: load goes only to http:// on 127.0.0.0/8, localhost or ::1`);
  }
  return url.origin;
}
