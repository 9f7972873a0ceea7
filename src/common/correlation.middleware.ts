import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const VALID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Takes X-Request-Id when it is sane, else makes one; echoes it on the response. */
export function correlationMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && VALID.test(given) ? given : randomUUID();
  (req as Request & { correlationId?: string }).correlationId = id;
  res.setHeader('X-Request-Id', id);
  next();
}
