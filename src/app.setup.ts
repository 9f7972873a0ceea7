import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { ArgumentsHost } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { readFileSync } from 'node:fs';
import { AuditAccessModule } from './audit/access/access.module.js';
import { AuditWorkbenchModule } from './audit/workbench/workbench.module.js';
import { bodyParsers } from './common/body-parsers.js';
import { SANDBOX_PATH_PREFIX } from './concur/host-allow-list.js';
import { correlationMiddleware } from './common/correlation.middleware.js';
import { GlobalExceptionFilter } from './common/global-exception.filter.js';
import { withoutTrailingSlashes } from './common/request-path.js';
import { registerViewHelpers } from './i18n/page-locale.js';
import { AppConfig } from './config/index.js';
import { RequestLogging } from './logging/logging.module.js';
import { httpMetricsMiddleware } from './metrics/http-metrics.middleware.js';
import { Metrics } from './metrics/metrics.service.js';

/** The package root: views/, public/ and config/ live here, in development and in dist/. */
export const PACKAGE_ROOT = resolve(import.meta.dirname, '..');

const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

const DEFAULT_LAUNCH_PATHS = { v1Launch: '/concur/form/v1.0/get', v4Launch: '/launchexternalurl/v4/form' } as const;

/**
 * Everything main.ts and the e2e tests both need on the Express app: headers, CSP nonces,
 * correlation IDs, body parsers, views, static assets, configurable launch paths, errors.
 * Create the app with `{ bodyParser: false }`: the parsers here report their errors properly.
 */
export function configureApp(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  const filter = new GlobalExceptionFilter();

  app.disable('x-powered-by');
  app.set('trust proxy', config.server.trustProxy);
  app.set('query parser', 'simple');
  app.use(correlationMiddleware);
  // Before anything that may answer (body parsers): every request gets its log line and its timing.
  app.use(app.get(RequestLogging).middleware);
  app.use(httpMetricsMiddleware(app.get(Metrics)));
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.locals.cspNonce = randomBytes(16).toString('base64');
    if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'", (_req, res) => `'nonce-${(res as Response).locals.cspNonce}'`],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: false,
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use(popupKeepsItsOpener(config));
  app.use(launchPathRewrite(config));
  const respondWithError = (err: Parameters<GlobalExceptionFilter['catch']>[0], req: Request, res: Response) =>
    filter.catch(err, hostOf(req, res));
  // The stand-in Concur reads its own bodies, so it answers a malformed or oversized one as
  // Concur does (an ErrorMessage or OAuth error body), not with the connector's error page.
  const sandboxApi = `${SANDBOX_PATH_PREFIX}/`;
  for (const parser of bodyParsers(respondWithError)) {
    app.use((req: Request, res: Response, next: NextFunction) => (req.path.startsWith(sandboxApi) ? next() : parser(req, res, next)));
  }
  app.use(cookieParser());

  app.useStaticAssets(join(PACKAGE_ROOT, 'public'), { prefix: '/assets/', index: false, maxAge: '1h' });
  app.setBaseViewsDir(join(PACKAGE_ROOT, 'views'));
  app.setViewEngine('hbs');
  registerViewHelpers();
  app.set('view options', { layout: 'layouts/main' });
  app.set('view cache', true);
  app.useGlobalFilters(filter);
  setupApiDocs(app);
  // No enableShutdownHooks() (it closes at once): src/lifecycle/graceful-shutdown.ts drains, then app.close() runs the hooks.
}

/** The audit API's OpenAPI description: the document at /api/docs/openapi.json, Swagger UI at /api/docs (both public: they hold no data). */
function setupApiDocs(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('concur-launch-connector audit API')
      .setDescription(
        'Read the hash-chained audit log: who changed which Concur expense field, when, from what, to what. ' +
          'Auditors only: HTTP Basic with an auditor account (audit.auditors), the sign-in cookie of /audit/sign-in, or a trusted ' +
          'authenticating proxy. Every call is itself written to the log (audit.read).',
      )
      .setVersion(PACKAGE_VERSION)
      .addBasicAuth()
      .addCookieAuth(config.audit.cookieName)
      .build(),
    { include: [AuditWorkbenchModule, AuditAccessModule] },
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json', customSiteTitle: 'Audit API · Concur connector' });
}

// Express routes ignore case and a trailing slash, so path comparisons must too.
const normalPath = (path: string) => withoutTrailingSlashes(path.toLowerCase()) || '/';

/**
 * Concur opens the popup with window.open and reloads its form when `popup.closed` turns true.
 * Cross-Origin-Opener-Policy: same-origin on any page the popup shows (a redirect too) moves it
 * to another browsing context group: the opener's handle reads closed at once and the form
 * reloads before anything was saved. So the popup's pages (launch paths with their error pages,
 * /launch/s/..., the sandbox's launch redirect) send no COOP. The sandbox's form page plays
 * Concur: same-origin there would sever its popup as well, so it allows popups. Every other
 * page keeps helmet's same-origin.
 */
function popupKeepsItsOpener(config: AppConfig) {
  const popupPaths = new Set([normalPath(config.paths.v1Launch), normalPath(config.paths.v4Launch), '/sandbox/launch']);
  return (req: Request, res: Response, next: NextFunction) => {
    const path = normalPath(req.path);
    if (popupPaths.has(path) || path.startsWith('/launch/s/')) res.removeHeader('Cross-Origin-Opener-Policy');
    else if (path === '/sandbox') res.setHeader('Cross-Origin-Opener-Policy', 'same-origin-allow-popups');
    next();
  };
}

/** The launch controllers answer on Concur's default paths; a configured path is mapped onto them. */
function launchPathRewrite(config: AppConfig) {
  const map = new Map<string, string>();
  const hidden = new Set<string>();
  for (const key of ['v1Launch', 'v4Launch'] as const) {
    if (normalPath(config.paths[key]) !== normalPath(DEFAULT_LAUNCH_PATHS[key])) {
      map.set(normalPath(config.paths[key]), DEFAULT_LAUNCH_PATHS[key]);
      hidden.add(normalPath(DEFAULT_LAUNCH_PATHS[key]));
    }
  }
  return (req: Request, _res: Response, next: NextFunction) => {
    if (map.size === 0) return next();
    const q = req.url.indexOf('?');
    const path = normalPath(q === -1 ? req.url : req.url.slice(0, q));
    const target = map.get(path);
    if (target) req.url = target + (q === -1 ? '' : req.url.slice(q));
    else if (hidden.has(path)) req.url = '/__not-a-launch-path__';
    next();
  };
}

function hostOf(req: Request, res: Response): ArgumentsHost {
  const http = { getRequest: () => req, getResponse: () => res, getNext: () => undefined };
  return {
    switchToHttp: () => http,
    getArgs: () => [req, res],
    getArgByIndex: (i: number) => [req, res][i],
    getType: () => 'http',
    switchToRpc: () => {
      throw new Error('not rpc');
    },
    switchToWs: () => {
      throw new Error('not ws');
    },
  } as unknown as ArgumentsHost;
}
