import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startApp, type Harness } from './harness.js';

/** A raw keep-alive connection: sends GET /health/live, resolves with the status line once the answer is in. */
function openKeptAlive(origin: string): Promise<{ socket: Socket; statusLine: string; closed: Promise<number> }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const openedAt = Date.now();
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - openedAt)));
    let received = '';
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n') && received.endsWith('}')) resolve({ socket, statusLine: received.split('\r\n')[0], closed });
    });
    socket.write(`GET /health/live HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe('idle keep-alive connections', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('stay open 65 s by default, longer than the 60 s idle timeout of the usual proxies', async () => {
    h = await startApp();
    expect((h.app.getHttpServer() as Server).keepAliveTimeout).toBe(65_000);
    const { socket, statusLine } = await openKeptAlive(h.origin);
    expect(statusLine).toBe('HTTP/1.1 200 OK');
    // Node's own default (5 s) would close it by now; well within 65 s it is still open.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    expect(socket.destroyed).toBe(false);
    expect(socket.readyState).toBe('open');
    socket.destroy();
  }, 15_000);

  it('are closed by the connector after server.keepAliveTimeoutSeconds', async () => {
    h = await startApp({ server: { keepAliveTimeoutSeconds: 1 } });
    const { statusLine, closed } = await openKeptAlive(h.origin);
    expect(statusLine).toBe('HTTP/1.1 200 OK');
    const afterMs = await closed;
    expect(afterMs).toBeGreaterThanOrEqual(900);
    expect(afterMs).toBeLessThan(4_000);
  }, 15_000);
});
