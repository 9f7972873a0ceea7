import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from './metrics.service.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route pattern that served the request ('/launch/s/:id'), never the URL; 'unmatched' when none
 * did. A catch-all pattern is a middleware mount on every path (nestjs-pino's '{/*splat}'), not a route.
 * Not prefixed with `req.baseUrl`: that is the part of the URL a router was mounted on, as the client
 * sent it (Nest mounts every route on the application, so it is empty for them).
 */
export function routeOf(req: Request): string {
  const path: unknown = req.route?.path;
  if (typeof path !== 'string' || path.includes('*')) return 'unmatched';
  return path || '/';
}

/** Observes clc_http_request_duration_seconds once per request, when the response is finished or abandoned. */
export function httpMetricsMiddleware(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = metrics.httpDuration.startTimer();
    let done = false;
    const observe = () => {
      if (done) return;
      done = true;
      res.removeListener('finish', observe);
      res.removeListener('close', observe);
      end({ method: METHODS.has(req.method) ? req.method : 'OTHER', route: routeOf(req), status: String(res.statusCode) });
    };
    res.on('finish', observe);
    res.on('close', observe);
    next();
  };
}
