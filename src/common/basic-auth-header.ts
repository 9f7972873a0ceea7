const BASIC = /^basic +([A-Za-z0-9+/]+={0,2})$/i;
const MAX_HEADER_LENGTH = 1024;

/** Username and password of an `Authorization: Basic` header, or undefined when absent, oversized or malformed. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return undefined;
  const encoded = BASIC.exec(header.trim())?.[1];
  if (!encoded || encoded.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
