import { EventEmitter } from 'node:events';
import type { NextFunction, Request, Response } from 'express';
import { Metrics } from './metrics.service.js';
import { httpMetricsMiddleware, routeOf } from './http-metrics.middleware.js';

function exchange(method: string, url: string, route?: string) {
  const req = { method, url, originalUrl: url, baseUrl: '', route: route === undefined ? undefined : { path: route } } as unknown as Request;
  const res = Object.assign(new EventEmitter(), { statusCode: 200 }) as unknown as Response;
  return { req, res };
}

async function observed(metrics: Metrics): Promise<Array<Record<string, string | number>>> {
  const { values } = await metrics.httpDuration.get();
  return values
    .filter((v) => v.metricName === 'clc_http_request_duration_seconds_count')
    .map((v) => ({ ...(v.labels as Record<string, string>), count: v.value }));
}

describe(httpMetricsMiddleware.name, () => {
  it('observes the matched route pattern, method and status once, when the response finishes', async () => {
    const metrics = new Metrics();
    const { req, res } = exchange('GET', '/launch/s/abcdef?q=secret');
    let nextCalled = false;
    httpMetricsMiddleware(metrics)(req, res, (() => (nextCalled = true)) as NextFunction);
    expect(nextCalled).toBe(true);
    expect(await observed(metrics)).toEqual([]);
    // Express sets req.route while routing; the label is read when the answer is done.
    (req as unknown as { route: { path: string } }).route = { path: '/launch/s/:id' };
    res.statusCode = 303;
    res.emit('finish');
    res.emit('close');
    expect(await observed(metrics)).toEqual([{ method: 'GET', route: '/launch/s/:id', status: '303', count: 1 }]);
  });

  it("labels a request no route matched 'unmatched', an odd method 'OTHER', and an abandoned one too", async () => {
    const metrics = new Metrics();
    const { req, res } = exchange('PROPFIND', '/wp-admin/../etc/passwd');
    httpMetricsMiddleware(metrics)(req, res, () => undefined);
    res.statusCode = 404;
    res.emit('close');
    expect(await observed(metrics)).toEqual([{ method: 'OTHER', route: 'unmatched', status: '404', count: 1 }]);
  });

  it(`${routeOf.name} never returns the URL`, () => {
    expect(routeOf(exchange('GET', '/x/123', '/x/:id').req)).toBe('/x/:id');
    expect(routeOf(exchange('GET', '/x/123').req)).toBe('unmatched');
    expect(routeOf(exchange('GET', '/no/such/page', '{/*splat}').req)).toBe('unmatched');
    const regexRoute = { ...exchange('GET', '/x').req, route: { path: /x/ } } as unknown as Request;
    expect(routeOf(regexRoute)).toBe('unmatched');
  });

  it('labels a 16 KB hostile path by its pattern or unmatched, never with any of the path', async () => {
    const hostile = `/${'password%E0%A4%A/'.repeat(900)}`;
    const metrics = new Metrics();
    for (const route of [undefined, '/:id']) {
      const { req, res } = exchange('GET', hostile, route);
      // A router mounted on a path with parameters would have matched part of the URL as baseUrl.
      Object.assign(req, { baseUrl: hostile.slice(0, 200) });
      httpMetricsMiddleware(metrics)(req, res, () => undefined);
      res.statusCode = 400;
      res.emit('finish');
    }
    const labels = await observed(metrics);
    expect(labels.map((l) => l.route).sort()).toEqual(['/:id', 'unmatched']);
    expect(JSON.stringify(await metrics.httpDuration.get())).not.toContain('password');
  });
});
