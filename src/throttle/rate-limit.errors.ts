import { HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { PageException, tooManyLaunchesPage } from '../common/page.exception.js';
import { RateLimitStoreFull } from './rate-limit.storage.js';

export const secondsText = (seconds: number) => `${seconds} second${seconds === 1 ? '' : 's'}`;

/** Retry-After of a request refused because the rate-limit store (Redis) failed. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** 429 for Test Connection (JSON under /system/); the caller sets Retry-After. */
export function tooManyTestConnections(retryAfterSeconds: number, reason: 'network' | 'failed_logins'): HttpException {
  const what =
    reason === 'network'
      ? 'Too many Test Connection calls from your network'
      : 'Too many failed Test Connection logins for this connector user';
  return new HttpException(`${what}; wait ${secondsText(retryAfterSeconds)} and try again.`, HttpStatus.TOO_MANY_REQUESTS);
}

/** What a JSON client is told when the memory rate-limit store has no room for its address. */
export function storeFullMessage(retryAfterSeconds: number): string {
  return `The connector is tracking requests from too many addresses at once; wait ${secondsText(retryAfterSeconds)} and try again.`;
}

/**
 * Passes on an error of a limiter call. The storage's 503 (sharedStoreUnavailable) gets
 * Retry-After, and for Test Connection a message fit for its JSON body; a full memory store
 * (RateLimitStoreFull) becomes a 429 with Retry-After, the launch popup's page or JSON. The
 * request is refused either way, never let through uncounted.
 */
export function limiterFailure(error: unknown, res: Response, route: 'launch' | 'test_connection'): unknown {
  if (error instanceof RateLimitStoreFull) {
    res.setHeader('Retry-After', String(error.retryAfterSeconds));
    // The popup's catalog has no message of its own for this yet; the person at the screen
    // needs to do the same (wait, open the window again), and the log detail says why.
    if (route === 'launch') return tooManyLaunchesPage(error.retryAfterSeconds, error.message);
    return new HttpException(storeFullMessage(error.retryAfterSeconds), HttpStatus.TOO_MANY_REQUESTS);
  }
  if (!(error instanceof HttpException) || error.getStatus() !== HttpStatus.SERVICE_UNAVAILABLE) return error;
  res.setHeader('Retry-After', String(STORE_RETRY_AFTER_SECONDS));
  if (route === 'launch' || !(error instanceof PageException)) return error;
  return new PageException(HttpStatus.SERVICE_UNAVAILABLE, {
    title: error.page.title,
    message: `The connector could not reach its shared store; wait ${secondsText(STORE_RETRY_AFTER_SECONDS)} and try again. If it keeps happening, give the correlationId to your IT support.`,
    detail: error.page.detail,
  });
}
