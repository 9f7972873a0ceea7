import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import type { AuditorIdentity } from '../access/auditor.guard.js';
import type { AuditService } from '../audit.service.js';
import type { AuditEvent, AuditEventInput, AuditFilter } from '../audit.types.js';
import { parseAuditQuery } from './audit-query.js';
import { AuditWorkbench } from './audit-workbench.service.js';

const AUDITOR: AuditorIdentity = { username: 'jane', via: 'basic', groups: [], csrfToken: null };
const META = { correlationId: 'corr-1', clientIp: '127.0.0.1', userAgent: 'test' };

function event(seq: number): AuditEvent {
  return {
    seq, id: `id-${seq}`, occurredAt: '2026-01-01T00:00:00.000Z', type: 'update.succeeded', outcome: 'success', tenantId: 't', companyDomain: null,
    actingUser: 'alice', reportOwner: null, itemUrl: null, launchId: 'L', field: 'custom9', oldValue: 'A', newValue: 'B', reason: null,
    correlationId: null, clientIp: null, userAgent: null, prevHash: '0'.repeat(64), hash: 'f'.repeat(64),
  };
}

/** A response whose client reads nothing: every write reports a full buffer until `close`. */
class StalledResponse extends EventEmitter {
  written = 0;
  ended = false;
  headers: Record<string, string> = {};
  status() {
    return this;
  }
  setHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  write(chunk: string) {
    this.written += chunk.length;
    return false;
  }
  end() {
    this.ended = true;
  }
}

describe(AuditWorkbench.name, () => {
  it('pulls no more rows while the client does not read: memory stays flat for an export of any size', async () => {
    let pulled = 0;
    const recorded: AuditEventInput[] = [];
    const audit = {
      record: async (input: AuditEventInput) => void recorded.push(input),
      exportEvents: async (_filter: AuditFilter) => ({
        head: { seq: Number.MAX_SAFE_INTEGER, hash: 'h' },
        // Endless: an export that ignored backpressure would never stop reading it.
        events: (async function* () {
          for (let seq = 1; ; seq++) {
            pulled = seq;
            yield event(seq);
          }
        })(),
      }),
    } as unknown as AuditService;
    const res = new StalledResponse();
    const done = new AuditWorkbench(audit).export(parseAuditQuery({ user: 'alice' }), 'csv', AUDITOR, META, res as unknown as Response);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pulledWhileStalled = pulled;
    expect(pulledWhileStalled).toBeGreaterThan(0);
    expect(pulledWhileStalled).toBeLessThan(2000);
    expect(res.written).toBeLessThan(2 * 64 * 1024);
    res.emit('close');
    await done;
    expect(pulled).toBe(pulledWhileStalled + 1);
    expect(res.ended).toBe(false);
    expect(recorded).toEqual([expect.objectContaining({ type: 'audit.read', actingUser: 'jane', field: 'export', reason: 'csv user="alice" (via basic)' })]);
  });

  it('ends a failed export with a line saying so, after the rows already sent', async () => {
    const audit = {
      record: async () => undefined,
      exportEvents: async () => ({
        head: { seq: 2, hash: 'h' },
        events: (async function* () {
          yield event(1);
          throw new Error('connection lost');
        })(),
      }),
    } as unknown as AuditService;
    const res = new StalledResponse();
    const chunks: string[] = [];
    res.write = (chunk: string) => (chunks.push(chunk), true);
    res.end = ((chunk?: string) => {
      if (chunk) chunks.push(chunk);
      res.ended = true;
    }) as () => void;
    await new AuditWorkbench(audit).export(parseAuditQuery({}), 'ndjson', AUDITOR, META, res as unknown as Response);
    const lines = chunks.join('').trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ seq: 1 });
    expect(lines[1]).toEqual({ exportFailed: { afterRows: 1, reference: 'corr-1', message: 'the export stopped early; run it again' } });
    expect(res.ended).toBe(true);
  });
});
