/** Paths whose errors are JSON for machines; everything else is a page for the person in the popup. */
const JSON_PREFIXES = ['/api/', '/sandbox/api/', '/sandbox/concur/', '/system/', '/health', '/metrics'];

export function wantsJson(path: string): boolean {
  return JSON_PREFIXES.some((prefix) => path.startsWith(prefix));
}
