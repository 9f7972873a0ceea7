import { ConcurError } from '../concur/concur.types.js';
import { OAUTH_BAD_REFRESH_TOKEN } from '../concur/oauth.client.js';
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

/** The allocation is not one of the expenses the launch named: no write, the user relaunches. */
export function itemMismatchPage(detail: string): PageException {
  return new PageException(400, {
    title: msg('This link is not valid'),
    message: msg('Concur says this allocation belongs to another expense than the one this window was opened for. Close this window and click the field again in Concur.'),
    detail,
  });
}

/** Concur's own words as the popup may show them: one line, at most this long. */
const MAX_CONCUR_SAYS = 200;

/**
 * A Concur failure as the popup shows it: 502 with a Retry button, a short summary of what
 * Concur said (escaped by the view), the whole cause only in the log and the audit.
 */
export function concurErrorPage(error: ConcurError, step: ConcurStep, retry: RetryAction): PageException {
  if (error.source === 'shared-store') {
    return new PageException(503, {
      title: msg('The connector is briefly unavailable'),
      message: MESSAGES[step].store,
      view: { retry },
      detail: error.message,
    });
  }
  const concurSays = error.details.concurMessage
    ? error.details.concurMessage.length > MAX_CONCUR_SAYS
      ? `${error.details.concurMessage.slice(0, MAX_CONCUR_SAYS - 1)}…`
      : error.details.concurMessage
    : undefined;
  const detail = `${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}${
    error.details.concurCorrelationId ? ` [concur-correlationid ${error.details.concurCorrelationId}]` : ''
  }`;
  if (error.kind === 'auth' && error.details.userToken) {
    // The user's own sign-in (from the launch) is no longer good: a new launch brings a new one.
    return new PageException(401, {
      title: msg('This window has expired'),
      message: msg('For your security this window stops working after a while. Close this window and click the field again in Concur.'),
      detail,
    });
  }
  if (error.kind === 'auth' && error.details.oauthCode === OAUTH_BAD_REFRESH_TOKEN) {
    // The tenant's refresh token is dead: Retry cannot help, the administrator must renew it.
    return new PageException(502, {
      title: msg("The connector's access to Concur has expired"),
      message: msg("Concur no longer accepts the connector's sign-in for your company. Close this window and ask your Concur administrator to renew the connector's Concur connection; give them the reference below."),
      detail,
    });
  }
  const kind = error.kind === 'unavailable' || error.kind === 'auth' ? error.kind : 'rejected';
  return new PageException(502, {
    title: error.kind === 'unavailable' ? msg('Concur is not answering') : msg('Concur refused the request'),
    message: MESSAGES[step][kind],
    view: { retry, ...(concurSays ? { concurSays } : {}) },
    detail,
  });
}
