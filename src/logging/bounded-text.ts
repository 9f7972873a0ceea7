/**
 * How much of a text a log line keeps. Paths, headers and messages come from anonymous clients
 * (Node lets a request line reach 16 KB), so each is cut before anything else looks at it: the
 * work a line costs (scrubbing, serialising, writing) is then bounded whatever a client sends.
 */
export const LOG_LIMITS = {
  /** A request path: the connector's own paths are under 100 characters. */
  path: 512,
  /** A message, an error message, a header or any other string field. */
  text: 2048,
  /** An error's stack: its message (cut like any text) and the frames. */
  stack: 8192,
} as const;

/** How far back a cut looks for the start of the word it would split. */
const WORD_BACKOFF = 64;

/** The characters of a token, a query value or a base64 credential. */
function isWordChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || // 0-9
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    code === 0x2b || // +
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x2f || // /
    code === 0x25 || // %
    code === 0x3d || // =
    code === 0x5f || // _
    code === 0x7e // ~
  );
}

/**
 * `text` cut to at most `max` characters (plus a marker saying how many were dropped). A word
 * cut in two is dropped whole when it starts within the last 64 kept characters: the stub of a
 * credential (`Bearer abcd`) would be too short for the text patterns of redaction.ts to
 * recognise, while a longer one keeps enough to be recognised and replaced.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  if (isWordChar(text.charCodeAt(end - 1)) && isWordChar(text.charCodeAt(end))) {
    let start = end;
    const floor = Math.max(0, end - WORD_BACKOFF);
    while (start > floor && isWordChar(text.charCodeAt(start - 1))) start--;
    if (start > floor) end = start;
  }
  // Not between the two halves of a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…[+${text.length - end} chars]`;
}
