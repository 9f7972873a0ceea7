import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { Options as HttpLoggerOptions } from 'pino-http';
import pretty from 'pino-pretty';
import type { LoggingConfig } from '../config/index.js';
import { REDACT_PATHS, REDACTED, SERIALIZERS, scrub, scrubLine, withoutQuery } from './redaction.js';

/** Where the process writes to, for the `auto` format. */
export interface Terminal {
  isTTY: boolean;
  production: boolean;
}

export function currentTerminal(): Terminal {
  return { isTTY: Boolean(process.stdout.isTTY), production: process.env.NODE_ENV === 'production' };
}

/** pretty when asked for, or `auto` on a developer's terminal; JSON otherwise. */
export function usePretty(format: LoggingConfig['format'], terminal: Terminal): boolean {
  return format === 'pretty' || (format === 'auto' && terminal.isTTY && !terminal.production);
}

/** Everything pino needs besides the destination: level, redaction, serializers, scrubbing. */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: SERIALIZERS,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // Errors become SafeError here, before pino would stringify them (an Axios error's config holds credentials).
      log: (object) => scrub(object) as Record<string, unknown>,
    },
    // Last line of defence, on the finished line: secret keys in bindings too, secrets inside any text.
    hooks: { streamWrite: scrubLine },
  };
}

/**
 * The application's root logger. A `destination` (tests) always gets JSON; otherwise stdout,
 * pretty or JSON by `logging.format`.
 */
export function createRootLogger(
  config: LoggingConfig,
  destination?: NodeJS.WritableStream,
  terminal: Terminal = currentTerminal(),
): Logger {
  const options = loggerOptions(config.level);
  if (destination) return pino(options, destination as unknown as DestinationStream);
  if (usePretty(config.format, terminal)) {
    return pino(options, pretty({ colorize: terminal.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
  }
  return pino(options);
}

type Req = IncomingMessage & { originalUrl?: string; correlationId?: string };

const PROBES = new Set(['/health/live', '/health/ready', '/metrics']);

function pathOf(req: Req): string {
  return withoutQuery(req.originalUrl ?? req.url ?? '');
}

function isProbe(req: Req): boolean {
  return PROBES.has(pathOf(req).replace(/\/+$/, ''));
}

function summary(req: Req, res: ServerResponse): string {
  return `${req.method} ${pathOf(req)} ${res.statusCode}`;
}

/**
 * pino-http: one line per finished request (correlationId, method, path, status, durationMs),
 * and every line logged while serving it carries the correlation ID. Probes log at debug.
 */
export function httpLoggerOptions(logger: Logger): HttpLoggerOptions<Req, ServerResponse> {
  return {
    logger,
    wrapSerializers: false,
    // correlationMiddleware ran first and chose the ID (a well-formed X-Request-Id, or a new one).
    genReqId: (req) => req.correlationId ?? randomUUID(),
    customAttributeKeys: { reqId: 'correlationId', responseTime: 'durationMs' },
    quietReqLogger: true,
    customLogLevel: (req, res, error) => {
      if (isProbe(req)) return 'debug';
      return error || res.statusCode >= 500 ? 'error' : 'info';
    },
    customSuccessMessage: (req, res) => summary(req, res),
    customErrorMessage: (req, res) => summary(req, res),
    // The failure itself is logged by the exception filter, with its stack; this is the access line.
    customErrorObject: (_req, _res, _error, value: Record<string, unknown>) => {
      const { err: _err, ...rest } = value;
      return rest;
    },
  };
}
