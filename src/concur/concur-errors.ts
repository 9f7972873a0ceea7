import { createHash } from 'node:crypto';

/**
 * Concur's own words from a failed answer, for the log and the audit: v4 `ErrorMessage`
 * (errorMessage, validationErrors), v3 error bodies (`Error.Message`, or `Message` at the top),
 * and OAuth errors (error_description, error). Bounded, single-line, never the whole body.
 */
const MAX_REASON = 500;
const MAX_VALIDATION_ERRORS = 5;

export function concurReason(body: unknown): string | undefined {
  if (typeof body === 'string') return clean(body);
  if (!isObject(body)) return undefined;
  const parts: string[] = [];
  const main =
    text(body.errorMessage) ??
    (isObject(body.Error) ? text(body.Error.Message) : undefined) ??
    text(body.Message) ??
    text(body.message) ??
    text(body.error_description) ??
    text(body.error);
  if (main) parts.push(main);
  if (Array.isArray(body.validationErrors)) {
    const details = body.validationErrors
      .slice(0, MAX_VALIDATION_ERRORS)
      .map((item) => (isObject(item) ? [text(item.id), text(item.message)].filter(Boolean).join(': ') : ''))
      .filter(Boolean);
    if (details.length) parts.push(`validation: ${details.join('; ')}`);
  }
  return parts.length ? clean(parts.join(' | ')) : undefined;
}

/** The concur-correlationid header of Concur's answer (apidoc.markdown "Troubleshooting"). */
export function concurCorrelationIdOf(response: { headers?: unknown }): string | undefined {
  const headers = response.headers as Record<string, unknown> | undefined;
  const value = headers?.['concur-correlationid'] ?? headers?.['correlationid'];
  return typeof value === 'string' && value !== '' ? clean(value, 128) : undefined;
}

function clean(value: string, max = MAX_REASON): string | undefined {
  // eslint-disable-next-line no-control-regex
  const single = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (single === '') return undefined;
  return single.length > max ? `${single.slice(0, max - 1)}…` : single;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.slice(0, MAX_REASON * 2) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The concur-correlationid to send: Concur's pages want "a RFC 4122 UUID". Our own correlation
 * ids are UUIDs; one taken from a proxy's X-Request-Id may not be, and is turned into a UUID
 * derived from it (sha256, version 8), so the same request always carries the same one.
 */
export function concurCorrelationHeader(correlationId: string): string {
  if (UUID.test(correlationId)) return correlationId;
  const hex = createHash('sha256').update(correlationId, 'utf8').digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
