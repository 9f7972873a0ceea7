import { EventEmitter, once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { ShutdownState } from '../health/shutdown-state.js';
import { installGracefulShutdown, type ShutdownTarget } from './graceful-shutdown.js';

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function get(port: number, path: string, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('installGracefulShutdown', () => {
  let server: Server;
  let port: number;
  let started: string[];
  let close: jest.Mock<() => Promise<void>>;
  let app: ShutdownTarget;
  let signals: EventEmitter;
  let state: ShutdownState;

  beforeEach(async () => {
    started = [];
    server = createServer((req, res) => {
      started.push(req.url ?? '');
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
      const timer = setTimeout(() => res.end('done'), ms);
      res.on('close', () => clearTimeout(timer));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    close = jest.fn(async () => undefined);
    app = {
      getHttpServer: () => server,
      get: () => {
        throw new Error('not used: the test passes delay, grace and state');
      },
      close,
    };
    signals = new EventEmitter();
    state = new ShutdownState();
  });

  afterEach(() => {
    server.closeAllConnections();
    server.close();
  });

  it('keeps serving during the delay with Connection: close, lets in-flight requests finish, then closes the app', async () => {
    const shutdown = installGracefulShutdown(app, { source: signals, delayMs: 300, graceMs: 5000, state, logger: silent });
    const slow = get(port, '/slow?ms=600');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toEqual(['/slow?ms=600']);

    signals.emit('SIGTERM');
    expect(state.shuttingDown).toBe(true);
    const during = await get(port, '/during');
    expect(during.status).toBe(200);
    expect(during.headers.connection).toBe('close');
    expect(close).not.toHaveBeenCalled();

    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(get(port, '/after')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const finished = await slow;
    expect(finished.status).toBe(200);
    expect(finished.body).toBe('done');
    expect(finished.headers.connection).toBe('close');
    await expect(shutdown.finished).resolves.toEqual({ signal: 'SIGTERM', exitCode: 0, cutOff: 0 });
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('closes the connection of a request that outlasts the grace period, and still completes', async () => {
    const shutdown = installGracefulShutdown(app, { source: signals, delayMs: 0, graceMs: 200, state, logger: silent });
    const slow = get(port, '/slow?ms=3000');
    await new Promise((resolve) => setTimeout(resolve, 50));
    signals.emit('SIGINT');
    await expect(slow).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(shutdown.finished).resolves.toEqual({ signal: 'SIGINT', exitCode: 0, cutOff: 1 });
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('closes idle keep-alive connections when it stops accepting', async () => {
    const agent = new Agent({ keepAlive: true });
    installGracefulShutdown(app, { source: signals, delayMs: 0, graceMs: 1000, state, logger: silent });
    const first = await get(port, '/first', agent);
    expect(first.headers.connection).toBe('keep-alive');
    const [socket] = Object.values(agent.freeSockets).flat();
    expect(socket).toBeDefined();
    const socketClosed = once(socket!, 'close');
    signals.emit('SIGTERM');
    await socketClosed;
    agent.destroy();
  });

  it('leaves idle keep-alive connections open during the delay: their next request is served with Connection: close', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const shutdown = installGracefulShutdown(app, { source: signals, delayMs: 400, graceMs: 1000, state, logger: silent });
    await get(port, '/first', agent);
    const [idle] = Object.values(agent.freeSockets).flat();
    expect(idle).toBeDefined();
    let idleClosed = false;
    idle!.once('close', () => (idleClosed = true));

    signals.emit('SIGTERM');
    // Another client's request ends during the delay; the idle connection must survive it.
    expect((await get(port, '/other')).headers.connection).toBe('close');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(idleClosed).toBe(false);

    const next = await get(port, '/next', agent);
    expect(next.status).toBe(200);
    expect(next.headers.connection).toBe('close');
    await expect(shutdown.finished).resolves.toMatchObject({ exitCode: 0, cutOff: 0 });
    expect(started).toEqual(['/first', '/other', '/next']);
    agent.destroy();
  });

  it('handles the first signal only; a second one skips the remaining delay', async () => {
    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const shutdown = installGracefulShutdown(app, { source: signals, delayMs: 60_000, graceMs: 60_000, state, logger });
    signals.emit('SIGTERM');
    signals.emit('SIGTERM');
    const outcome = await shutdown.finished;
    expect(outcome).toEqual({ signal: 'SIGTERM', exitCode: 0, cutOff: 0 });
    expect(close).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('received again'));
    expect(logger.log).toHaveBeenCalledWith('shutdown complete');
  });

  it('reports exit code 1 when closing the application fails', async () => {
    close.mockRejectedValueOnce(new Error('redis quit failed'));
    const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const shutdown = installGracefulShutdown(app, { source: signals, delayMs: 0, graceMs: 100, state, logger });
    signals.emit('SIGTERM');
    const outcome = await shutdown.finished;
    expect(outcome.exitCode).toBe(1);
    expect((outcome.error as Error).message).toBe('redis quit failed');
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('redis quit failed'));
  });

  it('reads delay and grace from the configuration and ShutdownState from the app by default', async () => {
    const provided = new ShutdownState();
    const get = jest.fn((type: unknown) =>
      type === ShutdownState ? provided : { server: { shutdownDelaySeconds: 0, shutdownGraceSeconds: 1 } },
    );
    const shutdown = installGracefulShutdown({ ...app, get: get as ShutdownTarget['get'] }, { source: signals, logger: silent });
    signals.emit('SIGTERM');
    await shutdown.finished;
    expect(provided.shuttingDown).toBe(true);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('uninstall stops listening to the signals', () => {
    const shutdown = installGracefulShutdown(app, { source: signals, delayMs: 0, graceMs: 0, state, logger: silent });
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGINT')).toBe(1);
    shutdown.uninstall();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(state.shuttingDown).toBe(false);
  });
});
