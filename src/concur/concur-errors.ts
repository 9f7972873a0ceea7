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
