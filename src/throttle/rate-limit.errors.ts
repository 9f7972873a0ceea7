import { HttpException, HttpStatus } from '@nestjs/common';

export const secondsText = (seconds: number) => `${seconds} second${seconds === 1 ? '' : 's'}`;

/** 429 for Test Connection (JSON under /system/); the caller sets Retry-After. */
export function tooManyTestConnections(retryAfterSeconds: number, reason: 'network' | 'failed_logins'): HttpException {
  const what =
    reason === 'network'
      ? 'Too many Test Connection calls from your network'
      : 'Too many failed Test Connection logins for this connector user';
  return new HttpException(`${what}; wait ${secondsText(retryAfterSeconds)} and try again.`, HttpStatus.TOO_MANY_REQUESTS);
}
