import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Bindings, type ChildLoggerOptions, pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { withoutTrailingSlashes } from '../common/request-path.js';
import type { LoggingConfig } from '../config/index.js';
import { bounded, LOG_LIMITS } from './bounded-text.js';
import { loggedPath, REDACT_PATHS, REDACTED, SERIALIZERS, scrub, scrubLine, withoutQuery } from './redaction.js';

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

/**
 * Everything pino needs besides the destination: level, redaction, serializers, scrubbing. Secrets
 * are redacted by key as each line's object is built (scrub(), pino's redact paths), every string
 * is cut to its limit before that, and the finished line gets one linear pass of the text patterns.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: SERIALIZERS,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // The root logger's own bindings; a child's go through scrubbedChildren() below.
      bindings: (bindings) => scrub(bindings) as Bindings,
      // Errors become SafeError here, before pino would stringify them (an Axios error's config holds credentials).
      log: (object) => scrub(object) as Record<string, unknown>,
    },
    hooks: {
      // The message and its interpolated values, cut before pino formats them.
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          const arg: unknown = args[i];
          if (typeof arg === 'string' && arg.length > LOG_LIMITS.text) (args as unknown[])[i] = bounded(arg, LOG_LIMITS.text);
        }
        return method.apply(this, args);
      },
      // Last line of defence, on the finished line: secrets inside any text.
      streamWrite: scrubLine,
    },
  };
}

/**
 * pino passes a child logger's bindings through no formatter (it resets `formatters.bindings` for
 * children), so the root's child() and setBindings() scrub them first. Children are created from
 * their parent with Object.create, so theirs are these too, at any generation.
 */
function scrubbedChildren(logger: Logger): Logger {
  const child = logger.child as unknown as (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  const setBindings = logger.setBindings as unknown as (this: Logger, bindings: Bindings) => void;
  Object.assign(logger, {
    child(this: Logger, bindings: Bindings, options?: ChildLoggerOptions) {
      return child.call(this, scrub(bindings) as Bindings, options);
    },
    setBindings(this: Logger, bindings: Bindings) {
      setBindings.call(this, scrub(bindings) as Bindings);
    },
  });
  return logger;
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
  if (destination) return scrubbedChildren(pino(options, destination as unknown as DestinationStream));
  if (usePretty(config.format, terminal)) {
    return scrubbedChildren(pino(options, pretty({ colorize: terminal.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true })));
  }
  return scrubbedChildren(pino(options));
}

type Req = IncomingMessage & { originalUrl?: string; correlationId?: string };

const PROBES = new Set(['/health/live', '/health/ready', '/metrics']);

function isProbe(req: Req): boolean {
  return PROBES.has(withoutTrailingSlashes(withoutQuery(req.originalUrl ?? req.url ?? '')));
}

function summary(req: Req, res: ServerResponse): string {
  return `${req.method} ${loggedPath(req.originalUrl ?? req.url ?? '')} ${res.statusCode}`;
}

type Level = 'debug' | 'info' | 'error';

function levelOf(req: Req, res: ServerResponse, failed: boolean): Level {
  if (isProbe(req)) return 'debug';
  return failed || res.statusCode >= 500 ? 'error' : 'info';
}

/**
 * One line per finished request (correlationId, method, path, status, durationMs), and
 * `req.log`, a child logger carrying the correlation ID, which nestjs-pino's Logger uses for
 * every line logged while serving the request. Probes log at debug; a 5xx at error (the failure
 * itself is logged by the exception filter, with its stack; this is the access line).
 *
 * What pino-http did, with one child logger a request instead of two (pino-http also builds a
 * child bound to the whole request, whose bindings go through the wildcard redaction on every
 * request) and no line built when its level is off: the request logger cost 5-8% of a launch
 * at warn.
 */
export function requestLogging(logger: Logger): (req: Req, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    // correlationMiddleware ran first and chose the ID (a well-formed X-Request-Id, or a new one).
    const correlationId = req.correlationId ?? randomUUID();
    const log = logger.child({ correlationId });
    const request = req as Req & { id?: string; log?: Logger };
    request.id = correlationId;
    request.log = log;
    const started = performance.now();
    let logged = false;
    const onEnd = (error?: unknown) => {
      if (logged) return;
      logged = true;
      res.removeListener('finish', onFinish);
      res.removeListener('close', onClose);
      res.removeListener('error', onError);
      const aborted = error === undefined && !res.writableFinished && res.writableFinished !== undefined;
      const level = levelOf(req, res, error !== undefined);
      if (!log.isLevelEnabled(level)) return;
      const line = { req, res, durationMs: Math.round(performance.now() - started), ...(aborted && { aborted: true }) };
      log[level](line, aborted ? `${summary(req, res)} (closed before the answer was sent)` : summary(req, res));
    };
    const onFinish = () => onEnd();
    const onClose = () => onEnd();
    const onError = (error: unknown) => onEnd(error ?? new Error('response error'));
    res.on('finish', onFinish);
    res.on('close', onClose);
    res.on('error', onError);
    next();
  };
}
