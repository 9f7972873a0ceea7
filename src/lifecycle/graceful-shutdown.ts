import type { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Logger, type LoggerService } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { ShutdownState } from '../health/shutdown-state.js';

/** What the shutdown needs of the Nest application (a NestExpressApplication has all of it). */
export interface ShutdownTarget {
  getHttpServer(): Server;
  get<T>(type: abstract new (...args: never[]) => T): T;
  close(): Promise<void>;
}

export interface GracefulShutdownOptions {
  /** Where the signals come from; tests pass an EventEmitter. */
  source?: Pick<EventEmitter, 'on' | 'removeListener'>;
  signals?: readonly string[];
  /** Default: server.shutdownDelaySeconds. */
  delayMs?: number;
  /** Default: server.shutdownGraceSeconds. */
  graceMs?: number;
  /** Default: the app's ShutdownState (readiness reads it). */
  state?: ShutdownState;
  logger?: LoggerService;
}

export interface ShutdownOutcome {
  signal: string;
  /** 0 when the app closed cleanly, 1 when closing it failed. The caller exits the process with it. */
  exitCode: 0 | 1;
  /** Requests still running when the grace period ended, whose connections were closed. */
  cutOff: number;
  error?: unknown;
}

export interface GracefulShutdown {
  /** Settles once a signal has been handled to the end. */
  readonly finished: Promise<ShutdownOutcome>;
  /** Starts the shutdown as a signal would (a second call hurries it like a second signal). */
  trigger(signal: string): Promise<ShutdownOutcome>;
  /** Stops listening to the signals. */
  uninstall(): void;
}

export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * On the first SIGTERM or SIGINT: readiness goes to 503 while requests are still served for the
 * delay (load balancers stop routing here); then the server stops accepting connections and
 * closes idle ones; in-flight requests get the grace period, after which their connections are
 * closed; then app.close() runs the shutdown hooks (database, Redis). From the first signal on,
 * responses carry `Connection: close`. A second signal skips what is left of the waiting.
 * The process is not exited here: main.ts does that with `finished`'s exit code.
 */
export function installGracefulShutdown(app: ShutdownTarget, options: GracefulShutdownOptions = {}): GracefulShutdown {
  const source = options.source ?? process;
  const signals = options.signals ?? SHUTDOWN_SIGNALS;
  const logger = options.logger ?? new Logger('Shutdown');
  const server = app.getHttpServer();
  const serverConfig = (): AppConfig['server'] => app.get(AppConfig).server;
  const delayMs = options.delayMs ?? serverConfig().shutdownDelaySeconds * 1000;
  const graceMs = options.graceMs ?? serverConfig().shutdownGraceSeconds * 1000;
  const state = options.state ?? app.get(ShutdownState);

  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  /** Set once the delay is over and the server stops accepting connections. */
  let closing = false;
  let hurried = false;
  const waiting = new Set<() => void>();
  let resolveFinished: (outcome: ShutdownOutcome) => void = () => undefined;
  const finished = new Promise<ShutdownOutcome>((resolve) => (resolveFinished = resolve));
  let running: Promise<ShutdownOutcome> | undefined;

  // Runs before Express sees the request, so even a response written at once says `Connection: close`.
  const onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      // Only once the server is closing: during the delay an idle keep-alive connection may be about
      // to carry the client's next request, and closing it then makes that request fail.
      if (closing) server.closeIdleConnections();
    });
    if (stopping) res.setHeader('Connection', 'close');
  };
  server.prependListener('request', onRequest);
  // Every socket, also one still in its TLS handshake, which the HTTP server's own list does not hold.
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', onConnection);

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (hurried) return resolve();
      const done = () => {
        clearTimeout(timer);
        waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiting.add(done);
    });
  const endWaits = () => {
    for (const done of [...waiting]) done();
  };

  async function run(signal: string): Promise<ShutdownOutcome> {
    stopping = true;
    state.begin();
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    logger.log(`${signal} received: readiness reports shutting down; still serving for ${seconds(delayMs)}`);
    await wait(delayMs);

    closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    logger.log(
      `no longer accepting connections; ${inFlight.size} request(s) in flight get up to ${seconds(graceMs)} to finish`,
    );
    let cutOff = 0;
    const drained = await Promise.race([closed.then(() => true), wait(graceMs).then(() => false)]);
    endWaits();
    if (drained) {
      logger.log('all requests finished');
    } else {
      cutOff = inFlight.size;
      logger.warn(`grace period over: closing the connections of ${cutOff} unfinished request(s)`);
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    }

    logger.log('closing the application (database, Redis)');
    try {
      await app.close();
    } catch (error) {
      logger.error(`closing the application failed: ${(error as Error)?.message ?? String(error)}`);
      return { signal, exitCode: 1, cutOff, error };
    } finally {
      server.removeListener('request', onRequest);
      server.removeListener('connection', onConnection);
    }
    logger.log('shutdown complete');
    return { signal, exitCode: 0, cutOff };
  }

  function trigger(signal: string): Promise<ShutdownOutcome> {
    if (running) {
      logger.warn(`${signal} received again: closing without waiting any longer`);
      hurried = true;
      endWaits();
      return running;
    }
    running = run(signal).catch((error: unknown) => ({ signal, exitCode: 1 as const, cutOff: 0, error }));
    void running.then(resolveFinished);
    return running;
  }

  const listeners = signals.map((signal) => {
    const listener = () => void trigger(signal);
    source.on(signal, listener);
    return [signal, listener] as const;
  });

  return {
    finished,
    trigger,
    uninstall() {
      for (const [signal, listener] of listeners) source.removeListener(signal, listener);
    },
  };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
