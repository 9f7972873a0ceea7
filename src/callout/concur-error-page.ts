import { ConcurError } from '../concur/concur.types.js';
import { PageException } from '../common/page.exception.js';
import { msg } from '../i18n/i18n.js';

export interface RetryAction {
  method: 'GET' | 'POST';
  action: string;
  fields?: Array<{ name: string; value: string }>;
}

/** What the popup was doing when Concur failed; each has its own sentences, so translations read whole. */
export type ConcurStep = 'reading' | 'saving';

const MESSAGES = {
  reading: {
    store: msg('The connector could not reach its shared store while reading this expense. Wait a moment, then press Retry; if it keeps happening, give the reference below to your IT support.'),
    unavailable: msg('Concur did not answer while we were reading this expense. Wait a moment, then press Retry.'),
    auth: msg("The connector could not sign in to Concur while reading this expense. Press Retry; if it fails again, ask your Concur administrator to check the connector's OAuth setup."),
    rejected: msg('Concur refused the request while we were reading this expense. Press Retry; if it fails again, close this window and ask your Concur administrator.'),
  },
  saving: {
    store: msg('The connector could not reach its shared store while saving your choice. Wait a moment, then press Retry; if it keeps happening, give the reference below to your IT support.'),
    unavailable: msg('Concur did not answer while we were saving your choice. Wait a moment, then press Retry.'),
    auth: msg("The connector could not sign in to Concur while saving your choice. Press Retry; if it fails again, ask your Concur administrator to check the connector's OAuth setup."),
    rejected: msg('Concur refused the request while we were saving your choice. Press Retry; if it fails again, close this window and ask your Concur administrator.'),
  },
} as const;

/** A Concur failure as the popup shows it: 502 with a Retry button; the cause only in the log. */
export function concurErrorPage(error: ConcurError, step: ConcurStep, retry: RetryAction): PageException {
  if (error.source === 'shared-store') {
    return new PageException(503, {
      title: msg('The connector is briefly unavailable'),
      message: MESSAGES[step].store,
      view: { retry },
      detail: error.message,
    });
  }
  const kind = error.kind === 'unavailable' || error.kind === 'auth' ? error.kind : 'rejected';
  return new PageException(502, {
    title: error.kind === 'unavailable' ? msg('Concur is not answering') : msg('Concur refused the request'),
    message: MESSAGES[step][kind],
    view: { retry },
    detail: `${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`,
  });
}
