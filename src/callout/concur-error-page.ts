import { ConcurError } from '../concur/concur.types.js';
import { PageException } from '../common/page.exception.js';

export interface RetryAction {
  method: 'GET' | 'POST';
  action: string;
  fields?: Array<{ name: string; value: string }>;
}

/** A Concur failure as the popup shows it: 502 with a Retry button; the cause only in the log. */
export function concurErrorPage(error: ConcurError, doing: string, retry: RetryAction): PageException {
  const message =
    error.kind === 'unavailable'
      ? `Concur did not answer while we were ${doing}. Wait a moment, then press Retry.`
      : error.kind === 'auth'
        ? `The connector could not sign in to Concur while ${doing}. Press Retry; if it fails again, ask your Concur administrator to check the connector's OAuth setup.`
        : `Concur refused the request while we were ${doing}. Press Retry; if it fails again, close this window and ask your Concur administrator.`;
  return new PageException(502, {
    title: error.kind === 'unavailable' ? 'Concur is not answering' : 'Concur refused the request',
    message,
    view: { retry },
    detail: `${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`,
  });
}
