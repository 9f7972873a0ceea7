import { ConcurError } from '../concur/concur.types.js';
import { PageException } from '../common/page.exception.js';

export interface RetryAction {
  method: 'GET' | 'POST';
  action: string;
  fields?: Array<{ name: string; value: string }>;
}

/** A Concur failure as the popup shows it: 502 with a Retry button; the cause only in the log. */
export function concurErrorPage(error: ConcurError, doing: string, retry: RetryAction): PageException {
  if (error.source === 'shared-store') {
    return new PageException(503, {
      title: 'The connector is briefly unavailable',
      message: `The connector could not reach its shared store while ${doing}. Wait a moment, then press Retry; if it keeps happening, give the reference below to your IT support.`,
      view: { retry },
      detail: error.message,
    });
  }
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
