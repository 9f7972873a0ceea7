import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const MAX_LENGTH = 64;
const VALID = /^[A-Za-z0-9._:-]+$/;

type TrustFn = (address: string, hop: number) => boolean;

/**
 * Takes X-Request-Id when it is sane and the request came straight from a trusted proxy
 * (`server.trustProxy`, Express's `trust proxy fn`), else makes one; echoes it on the response.
 * A client's own header is not taken: the ID goes into the audit, onto error pages and to
 * Concur, and a caller must not be able to file its requests under another request's ID.
 */
export function correlationMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const trust = req.app?.get('trust proxy fn') as TrustFn | undefined;
  const peer = req.socket?.remoteAddress;
  const fromProxy = trust !== undefined && peer !== undefined && trust(peer, 0);
  const id = fromProxy && typeof given === 'string' && given.length <= MAX_LENGTH && VALID.test(given) ? given : randomUUID();
  (req as Request & { correlationId?: string }).correlationId = id;
  res.setHeader('X-Request-Id', id);
  next();
}
