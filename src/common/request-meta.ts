import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Who and where a request came from: what the audit log and the logs need of it. */
export interface RequestMeta {
  correlationId: string;
  clientIp: string | null;
  userAgent: string | null;
}

export function requestMeta(req: Request): RequestMeta {
  return {
    correlationId: correlationIdOf(req),
    clientIp: req.ip ?? null,
    userAgent: (req.headers['user-agent'] ?? '').slice(0, 512) || null,
  };
}

export function correlationIdOf(req: Request): string {
  return (req as Request & { correlationId?: string }).correlationId ?? 'unknown';
}

/** Parameter decorator: `@Meta() meta: RequestMeta`. */
export const Meta = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestMeta =>
  requestMeta(ctx.switchToHttp().getRequest<Request>()),
);
