import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig, type ConcurConfig } from '../config/index.js';
import type { AuditEventTable } from '../database/database.types.js';
import { KEYED_HASH_ALG } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { AuditRepository } from './audit.repository.js';
import type {
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  AuditFilter,
  AuditOutcome,
  AuditPage,
  ChainHead,
  ChainVerification,
} from './audit.types.js';
import { nextTurn } from '../common/next-turn.js';
import { AUDIT_CHAIN_KEY, loadChainKey } from './chain-key.js';
import { canonicalJson, type ChainHashing, eventHash, expectedHash, GENESIS_HASH, keyedEventHash, sameHash, verifyChain } from './hash-chain.js';

const MAX_ITEM_URL = 2048;
const MAX_USER_AGENT = 512;
const MAX_OTHER = 512;
const MAX_LATEST = 1000;
/** Largest page of a search. */
export const MAX_PAGE_SIZE = 500;
const DAY_MS = 86_400_000;
/** Attempts when another writer (another process) took the next seq between our read and insert. */
const MAX_APPEND_ATTEMPTS = 5;
/**
 * Most `record()` calls one append transaction takes (group commit). Large enough that a busy
 * process commits many launches per fsync, small enough that one transaction stays short.
 */
export const MAX_RECORDS_PER_COMMIT = 100;
/** How often each replica looks for interrupted updates on PostgreSQL. */
const RECONCILE_INTERVAL_MS = 60_000;
/** How far back beyond the threshold a periodic run looks: many missed intervals, then the start-up scan takes over. */
const RECENT_WINDOW_MS = 60 * 60_000;
const MIN_INTERRUPTED_AFTER_MS = 15 * 60_000;
const INTERRUPTED_MARGIN_MS = 5 * 60_000;

/**
 * How old an `update.requested` without outcome must be before any replica may mark it
 * interrupted (PostgreSQL, several replicas). The replica that wrote it records the outcome
 * within a token call and the write, each at most `timeoutMs` per attempt over
 * `maxRetries + 1` attempts, plus the Retry-After waits between them; the margin covers
 * backoff, audit retries and clock skew between replicas. Never less than 15 minutes.
 */
export function interruptedAfterMs(concur: ConcurConfig): number {
  const attempts = concur.maxRetries + 1;
  const worstCase = 2 * attempts * concur.timeoutMs + concur.maxRetries * concur.maxRetryAfterSeconds * 1000;
  return Math.max(MIN_INTERRUPTED_AFTER_MS, worstCase + INTERRUPTED_MARGIN_MS);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string storable exactly as hashed: a lone surrogate would come back from the
 * database as U+FFFD and NUL is refused by PostgreSQL, either of which would later read as
 * tampering. Then cuts to `max` UTF-16 units without splitting a surrogate pair.
 */
export function storableText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  let text = String(value).replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
  if (text.length > max) {
    text = text.slice(0, max);
    if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  }
  return text;
}

/** The columns of one event but its place in the chain (seq, prev_hash, hash, hash_alg). */
type EventBody = Omit<AuditEventTable, 'seq' | 'prev_hash' | 'hash' | 'hash_alg'>;

function eventBody(input: AuditEventInput): EventBody {
  return {
    id: randomUUID(),
    occurred_at: new Date().toISOString(),
    event_type: storableText(input.type, MAX_OTHER) ?? '',
    outcome: storableText(input.outcome, MAX_OTHER) ?? '',
    tenant_id: storableText(input.tenantId, MAX_OTHER),
    company_domain: storableText(input.companyDomain, MAX_OTHER),
    acting_user: storableText(input.actingUser, MAX_OTHER),
    report_owner: storableText(input.reportOwner, MAX_OTHER),
    item_url: storableText(input.itemUrl, MAX_ITEM_URL),
    launch_id: storableText(input.launchId, MAX_OTHER),
    field: storableText(input.field, MAX_OTHER),
    old_value: storableText(input.oldValue, MAX_OTHER),
    new_value: storableText(input.newValue, MAX_OTHER),
    reason: storableText(input.reason, MAX_OTHER),
    correlation_id: storableText(input.correlationId, MAX_OTHER),
    client_ip: storableText(input.clientIp, MAX_OTHER),
    user_agent: storableText(input.userAgent, MAX_USER_AGENT),
  };
}

/** Appends events, in order, after the current head of the log it is given (inside an append transaction). */
type Append = (...bodies: EventBody[]) => Promise<AuditEventTable[]>;

/** The head an append links to: the newest event's place in the chain and its time. */
type AppendHead = { seq: number; hash: string; occurredAt: string | null };

/** One `record()` call waiting for the transaction that commits its event. */
interface PendingRecord {
  body: EventBody;
  resolve: (row: AuditEventTable) => void;
  reject: (err: unknown) => void;
}

/** Writes audit events into the hash-chained log and reads them back. */
@Injectable()
export class AuditService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AuditService.name);
  private tail: Promise<unknown> = Promise.resolve();
  /** The queued batch later `record()` calls still join; closed when it starts or other work queues behind it. */
  private openBatch?: PendingRecord[];
  private reconcileTimer?: NodeJS.Timeout;
  private headLogTimer?: NodeJS.Timeout;
  private retentionTimer?: NodeJS.Timeout;
  private periodicRun?: Promise<void>;
  private schemaReady = false;
  /** Set once an append transaction of this process has committed after checking that the chain is keyed. */
  private chainSealChecked = false;

  /**
   * `chainKey`: the HMAC key of the chain; without it (the server), the configured key or the one
   * generated in the data folder, loaded at first use.
   */
  constructor(
    private readonly repository: AuditRepository,
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
    @Optional() @Inject(AUDIT_CHAIN_KEY) private chainKey?: Buffer,
  ) {}

  private get key(): Buffer {
    this.chainKey ??= loadChainKey(this.config, this.logger);
    return this.chainKey;
  }

  /**
   * Appends one event; once the promise resolves the event is committed to disk. Calls made
   * while another append is under way share the next transaction (group commit): one fsync
   * (one advisory lock on PostgreSQL) for all of them, each event still chained after the one
   * before it, and no promise settles before the transaction holding its event has committed.
   */
  async record(input: AuditEventInput): Promise<AuditEvent> {
    const row = await this.joinBatch(eventBody(input));
    return toAuditEvent(row);
  }

  /**
   * Reconciles at start (unless migrations are pending) and, on PostgreSQL, every minute
   * after, since another replica's request may only now have become old enough.
   */
  async onApplicationBootstrap(): Promise<void> {
    const pending = await this.repository.pendingMigrations();
    this.schemaReady = pending.length === 0;
    // Before anything else appends: the events of an unkeyed log are sealed first.
    if (this.schemaReady) await this.sealUnkeyedEvents();
    if (this.schemaReady) await this.reconcileInterruptedUpdates();
    else this.logger.warn(`Interrupted updates not reconciled: database migrations pending (${pending.join(', ')})`);
    if (this.repository.dialect === 'postgres') {
      this.reconcileTimer = setInterval(() => void this.reconcilePeriodically(), RECONCILE_INTERVAL_MS);
      this.reconcileTimer.unref();
    }
    const { headLogIntervalSeconds, retention } = this.config.audit;
    if (headLogIntervalSeconds > 0) {
      this.headLogTimer = setInterval(() => void this.logHead(), headLogIntervalSeconds * 1000);
      this.headLogTimer.unref();
    }
    if (retention.days > 0) {
      if (this.schemaReady) await this.purgeQuietly();
      this.retentionTimer = setInterval(() => void this.purgeQuietly(), retention.checkIntervalHours * 3_600_000);
      this.retentionTimer.unref();
    }
  }

  async onModuleDestroy(): Promise<void> {
    for (const timer of [this.reconcileTimer, this.headLogTimer, this.retentionTimer]) clearInterval(timer);
    this.reconcileTimer = this.headLogTimer = this.retentionTimer = undefined;
    await this.periodicRun;
    // Events already queued are written before the database closes (at application shutdown).
    await this.tail;
  }

  /** The newest event's place in the chain (seq 0 and the genesis hash when the log is empty). */
  head(): Promise<ChainHead> {
    return this.repository.head();
  }

  /**
   * Writes the chain head to the application log, so it can be kept outside the database: a
   * later `verify` that ends on the same hash proves nothing before it was changed.
   */
  async logHead(): Promise<ChainHead | undefined> {
    try {
      const head = await this.repository.head();
      this.logger.log({ auditChainHead: head }, `audit chain head #${head.seq} ${head.hash}`);
      return head;
    } catch (err) {
      this.logger.warn(`The audit chain head could not be read: ${messageOf(err)}`);
      return undefined;
    }
  }

  /** One page of events matching `filter`, newest first, continuing after `cursor` (from a previous page). */
  async search(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditPage> {
    const size = Math.min(Math.max(Math.trunc(limit) || 1, 1), MAX_PAGE_SIZE);
    const before = cursor === undefined ? undefined : decodeCursor(cursor);
    // One more than asked tells whether another page follows.
    const rows = await this.repository.search(filter, size + 1, before);
    const events = rows.slice(0, size).map(toAuditEvent);
    const nextCursor = rows.length > size ? encodeCursor(events[events.length - 1].seq) : null;
    return { events, nextCursor };
  }

  async eventById(id: string): Promise<AuditEvent | undefined> {
    const row = await this.repository.findById(id);
    return row ? toAuditEvent(row) : undefined;
  }

  /**
   * One event with its place in the chain: whether its hash matches its content, whether it
   * links to the event before it, its neighbours, and the other events of its launch.
   */
  async inspect(id: string): Promise<EventInChain | undefined> {
    const row = await this.repository.findById(id);
    if (!row) return undefined;
    const seq = Number(row.seq);
    const [before, after, checkpoint, seal] = await Promise.all([
      this.repository.findBySeq(seq - 1),
      this.repository.findBySeq(seq + 1),
      this.repository.latestCheckpoint(),
      this.repository.findChainSeal(),
    ]);
    const hashing = chainHashing(this.key, seal);
    const purgedBefore = !before && checkpoint !== undefined && Number(checkpoint.purged_through_seq) === seq - 1;
    const expectedPrev = before?.hash ?? (seq === 1 ? GENESIS_HASH : purgedBefore ? checkpoint!.purged_through_hash : undefined);
    const launch = row.launch_id ? (await this.repository.findByLaunch(row.launch_id)).map(toAuditEvent) : [];
    return {
      event: toAuditEvent(row),
      hashMatches: sameHash(expectedHash(row, hashing), row.hash),
      keyed: seq > hashing.unkeyedThroughSeq,
      linksToPrevious: expectedPrev === undefined ? null : expectedPrev === row.prev_hash,
      previousPurged: purgedBefore,
      previous: before ? { id: before.id, seq: seq - 1 } : null,
      next: after ? { id: after.id, seq: seq + 1 } : null,
      launchEvents: launch,
    };
  }

  /**
   * Everything an export of `filter` writes: the chain head when it starts, and the matching
   * events up to that head, oldest first, read in batches (constant memory for any size).
   */
  async exportEvents(filter: AuditFilter): Promise<{ head: ChainHead; events: AsyncIterable<AuditEvent> }> {
    const head = await this.repository.head();
    const rows = this.repository.iterateFiltered(filter, { throughSeq: head.seq });
    return {
      head,
      events: (async function* () {
        for await (const row of rows) yield toAuditEvent(row);
      })(),
    };
  }

  /**
   * Removes events older than `days` days, keeping the rest verifiable: first an `audit.purged`
   * event records the purged range and the hash of its last event, and a checkpoint row lets the
   * database accept the delete; all in one append transaction. Nothing happens when no event is old enough.
   */
  async purgeOlderThan(days: number, actingUser = 'retention'): Promise<PurgeResult> {
    if (!Number.isInteger(days) || days < 1) throw new Error(`purge: days must be a whole number of at least 1 (got ${days})`);
    const cutoff = new Date(Date.now() - days * DAY_MS).toISOString();
    let result: PurgeResult = { purged: 0, cutoff };
    await this.enqueue(() =>
      this.commit('audit.purged', async (append, log) => {
        result = { purged: 0, cutoff };
        const last = await log.lastBefore(cutoff);
        const prior = await log.latestCheckpoint();
        if (!last || (prior && Number(last.seq) <= prior.purged_through_seq)) return;
        const fromSeq = prior ? prior.purged_through_seq + 1 : ((await log.firstSeq()) ?? 1);
        const throughSeq = Number(last.seq);
        const [event] = await append(
          eventBody({
            type: 'audit.purged',
            outcome: 'success',
            actingUser,
            newValue: checkpointRecord(fromSeq, throughSeq, last.hash),
            reason: `retention: events #${fromSeq}..#${throughSeq} (before ${cutoff}) purged; #${throughSeq} ended on ${last.hash}`,
          }),
        );
        await log.insertCheckpoint({
          checkpoint_seq: event.seq,
          purged_from_seq: fromSeq,
          purged_through_seq: throughSeq,
          purged_through_hash: last.hash,
          created_at: event.occurred_at,
        });
        const purged = await log.purgeThrough(throughSeq);
        result = { purged, cutoff, fromSeq, throughSeq, checkpointSeq: event.seq };
      }),
    );
    if (result.purged > 0) this.logger.log(`Audit retention: purged ${result.purged} event(s) #${result.fromSeq}..#${result.throughSeq}, checkpoint #${result.checkpointSeq}`);
    return result;
  }

  private async purgeQuietly(): Promise<void> {
    try {
      if (!this.schemaReady) this.schemaReady = (await this.repository.pendingMigrations()).length === 0;
      if (this.schemaReady) await this.purgeOlderThan(this.config.audit.retention.days);
    } catch (err) {
      this.logger.warn(`Audit retention purge failed: ${messageOf(err)}`);
    }
  }

  /**
   * Gives every `update.requested` left without an outcome (the process stopped, or its outcome
   * could not be written) an `update.failed` marked interrupted, so no request stays open in the log.
   * SQLite has one process, so at start nothing else can still be in flight and every such request
   * is closed. On PostgreSQL another replica may still be waiting for Concur: only requests older
   * than `interruptedAfterMs` are closed, and they are looked up again under the append lock so
   * replicas reconciling at the same time close each request once.
   */
  async reconcileInterruptedUpdates(scope: 'all' | 'recent' = 'all'): Promise<number> {
    const now = Date.now();
    const threshold = interruptedAfterMs(this.config.concur);
    const before = this.repository.dialect === 'postgres' ? new Date(now - threshold).toISOString() : undefined;
    // The periodic runs look at a recent window only, so their cost does not grow with the log;
    // the full scan at every start covers anything older (e.g. all replicas were down for hours).
    const since = scope === 'recent' ? new Date(now - threshold - RECENT_WINDOW_MS).toISOString() : undefined;
    // A look without the lock first: mostly there is nothing to close.
    if (!(await this.repository.requestsWithoutOutcome(before, since)).length) return 0;
    const marked = await this.enqueue(() =>
      this.commit('update.failed', async (append, log) => {
        for (const row of await log.requestsWithoutOutcome(before, since)) {
          const requested = toAuditEvent(row);
          await append(
            eventBody({
              ...pickContext(requested),
              type: 'update.failed',
              outcome: 'failure',
              reason: `interrupted: no outcome was recorded for request #${requested.seq}; check the field in Concur`,
            }),
          );
        }
      }),
    );
    if (marked.length) this.logger.warn(`${marked.length} interrupted update(s) marked as failed in the audit log`);
    return marked.length;
  }

  /**
   * Recomputes the chain from #1, or from the newest retention checkpoint on. A checkpoint only
   * counts when the chain holds its `audit.purged` event saying the same: a checkpoint row
   * written into the database by hand does not excuse the events it claims were purged.
   * Hashes are HMACs under the chain key, except those of the events the chain's seal (its first
   * `audit.chain_keyed` event, itself keyed) records as written before the chain was keyed.
   */
  async verify(): Promise<ChainVerification> {
    const [checkpoint, seal] = await Promise.all([this.repository.latestCheckpoint(), this.repository.findChainSeal()]);
    const hashing = chainHashing(this.key, seal);
    if (seal && seal.new_value !== sealRecord(Number(seal.seq) - 1, seal.prev_hash)) {
      const at = Number(seal.seq);
      return { intact: false, brokenAt: at, why: `event #${at} is an audit.chain_keyed event that does not record the events before it`, intactUpTo: at - 1, firstSeq: checkpoint ? Number(checkpoint.purged_through_seq) + 1 : 1 };
    }
    const withSeal = (result: ChainVerification): ChainVerification =>
      result.intact && result.firstSeq <= hashing.unkeyedThroughSeq && hashing.unkeyedThroughSeq < result.headSeq
        ? { ...result, unkeyedThroughSeq: hashing.unkeyedThroughSeq }
        : result;
    if (!checkpoint) return withSeal(await verifyChain(this.repository.iterateAll(), hashing));
    const throughSeq = Number(checkpoint.purged_through_seq);
    const checkpointSeq = Number(checkpoint.checkpoint_seq);
    const fromSeq = Number(checkpoint.purged_from_seq);
    // The event's own integrity is checked by the walk below; here, that it is the purge the row claims.
    const event = await this.repository.findBySeq(checkpointSeq);
    if (checkpointSeq <= throughSeq || event?.event_type !== 'audit.purged' || event.new_value !== checkpointRecord(fromSeq, throughSeq, checkpoint.purged_through_hash)) {
      return {
        intact: false,
        brokenAt: fromSeq,
        why: `events #${fromSeq}..#${throughSeq} are gone, and no purge in the chain records it (checkpoint #${checkpointSeq} is not an audit.purged event that says so)`,
        intactUpTo: fromSeq - 1,
        firstSeq: fromSeq,
      };
    }
    return withSeal(await verifyChain(this.repository.iterateAll(1000, throughSeq), hashing, { seq: throughSeq + 1, prevHash: checkpoint.purged_through_hash }));
  }

  /**
   * Seals the events written before the chain was keyed, once: when the newest event carries a
   * plain SHA-256 hash and no seal exists, an `audit.chain_keyed` event records where they end
   * and their last hash, and every event from it on is an HMAC under the chain key. Done in an
   * append transaction (on PostgreSQL under the lock every replica takes), so replicas starting
   * together write one seal. Also done before the first append of any process.
   */
  async sealUnkeyedEvents(): Promise<void> {
    if (this.chainSealChecked) return;
    await this.enqueue(() => this.commit('audit.chain_keyed', async () => undefined));
  }

  async eventsOfLaunch(launchId: string): Promise<AuditEvent[]> {
    return (await this.repository.findByLaunch(launchId)).map(toAuditEvent);
  }

  async eventsOfCorrelation(correlationId: string): Promise<AuditEvent[]> {
    return (await this.repository.findByCorrelationId(correlationId)).map(toAuditEvent);
  }

  /** The newest events, newest first. */
  async latest(limit = 50): Promise<AuditEvent[]> {
    const bounded = Math.min(Math.max(Math.trunc(Number(limit)) || 1, 1), MAX_LATEST);
    return (await this.repository.latest(bounded)).map(toAuditEvent);
  }

  private async reconcilePeriodically(): Promise<void> {
    if (this.periodicRun) return;
    this.periodicRun = (async () => {
      try {
        if (!this.schemaReady) this.schemaReady = (await this.repository.pendingMigrations()).length === 0;
        if (this.schemaReady) await this.reconcileInterruptedUpdates('recent');
      } catch (err) {
        this.logger.warn(`Looking for interrupted updates failed: ${messageOf(err)}`);
      }
    })().finally(() => {
      this.periodicRun = undefined;
    });
    await this.periodicRun;
  }

  /**
   * Queues `work` (a purge, a reconciliation) behind every append queued so far. The open batch
   * closes: a `record()` called from now on is committed after `work`, in call order.
   */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    this.openBatch = undefined;
    return this.queue(work);
  }

  /** One append transaction at a time in this process, in the order they were queued. */
  private queue<T>(work: () => Promise<T>): Promise<T> {
    const done = this.tail.then(work);
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** Adds `body` to the open batch, queueing a new batch when none is open or it is full. */
  private joinBatch(body: EventBody): Promise<AuditEventTable> {
    return new Promise((resolve, reject) => {
      if (!this.openBatch || this.openBatch.length >= MAX_RECORDS_PER_COMMIT) {
        const batch: PendingRecord[] = [];
        this.openBatch = batch;
        void this.queue(() => this.commitBatch(batch));
      }
      this.openBatch.push({ body, resolve, reject });
    });
  }

  /**
   * Commits a batch when its turn comes. It first waits one turn of the event loop: a SQLite
   * transaction never yields to I/O, so without the wait the requests read meanwhile could not join.
   * Settles every member's promise and never rejects itself.
   */
  private async commitBatch(batch: PendingRecord[]): Promise<void> {
    await nextTurn();
    if (this.openBatch === batch) this.openBatch = undefined;
    if (batch.length === 1) return this.commitAlone(batch[0]);
    try {
      const rows = await this.tryCommit((append) => append(...batch.map((member) => member.body)));
      batch.forEach((member, i) => member.resolve(rows[i]));
    } catch (err) {
      // One bad event must not fail the others: each gets a transaction of its own, so only its caller hears of it.
      this.logger.warn(`A batch of ${batch.length} audit events could not be written (${messageOf(err)}); writing them one at a time`);
      for (const member of batch) await this.commitAlone(member);
    }
  }

  /** Commits one event in a transaction of its own and settles its caller's promise. */
  private async commitAlone({ body, resolve, reject }: PendingRecord): Promise<void> {
    try {
      const [row] = await this.commit(body.event_type, (append) => append(body));
      resolve(row);
    } catch (err) {
      reject(err);
    }
  }

  /** `tryCommit`, with the failure in the error log (it reaches the caller too). */
  private async commit(what: string, write: (append: Append, log: AuditRepository) => Promise<unknown>): Promise<AuditEventTable[]> {
    try {
      return await this.tryCommit(write);
    } catch (err) {
      this.logger.error(`Audit event ${what} could not be written: ${messageOf(err)}`);
      throw err;
    }
  }

  /**
   * Runs `write` in one append transaction (the head read and the inserts after it are atomic,
   * across processes on PostgreSQL) and counts the events once committed. If an insert failed
   * because another writer took the seq meanwhile, the whole transaction is tried again.
   */
  private async tryCommit(write: (append: Append, log: AuditRepository) => Promise<unknown>): Promise<AuditEventTable[]> {
    const key = this.key;
    for (let attempt = 1; ; attempt++) {
      const rows: AuditEventTable[] = [];
      let sealed: AuditEventTable | undefined;
      let seenHead: number | undefined;
      try {
        await this.repository.inAppendTransaction(async (log) => {
          rows.length = 0;
          sealed = undefined;
          let head: AppendHead | undefined;
          const appendAfterHead = async (bodies: EventBody[]): Promise<AuditEventTable[]> => {
            // Read once a transaction: in it we are the only appender, so every later head is the row we appended.
            head ??= await log.headForAppend();
            seenHead ??= head.seq;
            const appended = chainedAfter(head, bodies, key);
            await log.insert(appended.length === 1 ? appended[0] : appended);
            head = headOf(appended[appended.length - 1]);
            return appended;
          };
          if (!this.chainSealChecked) sealed = await this.sealIfUnkeyed(log, key, appendAfterHead);
          await write(async (...bodies) => {
            const appended = await appendAfterHead(bodies);
            rows.push(...appended);
            return appended;
          }, log);
        });
      } catch (err) {
        if (attempt >= MAX_APPEND_ATTEMPTS || !(await this.headMovedFrom(seenHead))) throw err;
        continue; // another writer appended first: again, after its event
      }
      this.chainSealChecked = true;
      if (sealed) {
        this.metrics.auditEvents.inc({ type: sealed.event_type, outcome: sealed.outcome });
        this.logger.log(`Audit chain keyed: ${sealed.reason}`);
      }
      for (const row of rows) this.metrics.auditEvents.inc({ type: row.event_type, outcome: row.outcome });
      return rows;
    }
  }

  /**
   * In an append transaction: appends the seal when the log's newest event has a plain SHA-256
   * hash and no seal exists yet; returns it. A head that matches neither hash (another chain key
   * than the one it was written with, or a changed row) is reported and left as it is: a seal
   * must not vouch for events it cannot check.
   */
  private async sealIfUnkeyed(
    log: AuditRepository,
    key: Buffer,
    appendAfterHead: (bodies: EventBody[]) => Promise<AuditEventTable[]>,
  ): Promise<AuditEventTable | undefined> {
    if (await log.findChainSeal()) return undefined;
    const { seq } = await log.headForAppend();
    const head = seq > 0 ? await log.findBySeq(seq) : undefined;
    if (!head || sameHash(keyedEventHash(head, key), head.hash)) return undefined;
    if (eventHash(head) !== head.hash) {
      this.logger.error(
        `The audit chain's newest event #${seq} has neither a plain SHA-256 hash nor an HMAC under the configured chain key: ` +
          'is security.auditChainKey (CONNECTOR_AUDIT_CHAIN_KEY) the key this log was written with? verify-audit tells where the chain breaks',
      );
      return undefined;
    }
    const [seal] = await appendAfterHead([
      eventBody({
        type: 'audit.chain_keyed',
        outcome: 'success',
        actingUser: 'connector',
        newValue: sealRecord(seq, head.hash),
        reason: `events #1..#${seq} are unkeyed SHA-256, ending on ${head.hash}; from #${seq + 1} on each event's hash is an HMAC-SHA256 under the chain key`,
      }),
    ]);
    return seal;
  }

  /** Whether another writer appended since the transaction read head `seen` (which a retry then follows). */
  private async headMovedFrom(seen: number | undefined): Promise<boolean> {
    if (seen === undefined) return false;
    const now = await this.repository.head().catch(() => ({ seq: seen }));
    return now.seq !== seen;
  }
}

/** `bodies` as the events after `head`, each linked to the one before it and keyed with `key`. */
function chainedAfter(head: AppendHead, bodies: EventBody[], key: Buffer): AuditEventTable[] {
  const rows: AuditEventTable[] = [];
  let previous = head;
  for (const body of bodies) {
    const row = chained(body, previous, key);
    rows.push(row);
    previous = headOf(row);
  }
  return rows;
}

function headOf(row: AuditEventTable): AppendHead {
  return { seq: Number(row.seq), hash: row.hash, occurredAt: row.occurred_at };
}

/** `body` as the event after `head`: its seq, its link to the head's hash, and its own hash (an HMAC under `key`, marked as such). */
function chained(body: EventBody, head: AppendHead, key: Buffer): AuditEventTable {
  // Stamped before the append lock, a time could precede the head's (another replica got the
  // lock first, or an earlier member of the batch); times never go backwards along seq, which
  // time-range searches rely on.
  const occurredAt = head.occurredAt !== null && head.occurredAt > body.occurred_at ? head.occurredAt : body.occurred_at;
  const unhashed = { seq: head.seq + 1, ...body, occurred_at: occurredAt, prev_hash: head.hash };
  // hash_alg lets the database refuse rows of replicas without the chain key (migration 006).
  return { ...unhashed, hash: keyedEventHash(unhashed, key), hash_alg: KEYED_HASH_ALG };
}

export interface EventInChain {
  event: AuditEvent;
  /** The hash of the event's content (an HMAC under the chain key, or SHA-256 before the seal) equals its stored hash. */
  hashMatches: boolean;
  /** Its hash is an HMAC under the chain key (false: written before the chain was keyed). */
  keyed: boolean;
  /** prev_hash equals the hash before it; null when the event before it is missing (not purged). */
  linksToPrevious: boolean | null;
  /** The event before it was removed by a retention purge, whose checkpoint gives its hash. */
  previousPurged: boolean;
  previous: { id: string; seq: number } | null;
  next: { id: string; seq: number } | null;
  /** Every event of the same launch (this one included), oldest first. */
  launchEvents: AuditEvent[];
}

export interface PurgeResult {
  purged: number;
  /** Events that occurred before this ISO time were purged. */
  cutoff: string;
  fromSeq?: number;
  throughSeq?: number;
  checkpointSeq?: number;
}

/** What an `audit.purged` event records (its new_value), exactly as a checkpoint row must repeat it. */
function checkpointRecord(purgedFromSeq: number, purgedThroughSeq: number, purgedThroughHash: string): string {
  return canonicalJson({ purgedFromSeq, purgedThroughSeq, purgedThroughHash });
}

/** What an `audit.chain_keyed` event records (its new_value): the unkeyed events end at `unkeyedThroughSeq` on `unkeyedThroughHash`. */
function sealRecord(unkeyedThroughSeq: number, unkeyedThroughHash: string): string {
  return canonicalJson({ unkeyedThroughSeq, unkeyedThroughHash, unkeyedHash: 'sha256', keyedHash: 'hmac-sha256' });
}

/** How the chain is hashed given its seal (the first `audit.chain_keyed` event), if any. */
function chainHashing(key: Buffer, seal: AuditEventTable | undefined): ChainHashing {
  return { key, unkeyedThroughSeq: seal ? Number(seal.seq) - 1 : 0 };
}

/** An opaque page cursor: the seq of the last event shown. */
function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`, 'utf8').toString('base64url');
}

/** The seq a cursor continues below; throws InvalidCursorError on anything not made by encodeCursor. */
function decodeCursor(cursor: string): number {
  const match = /^s([1-9]\d{0,15})$/.exec(/^[A-Za-z0-9_-]{1,24}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '');
  if (!match) throw new InvalidCursorError();
  return Number(match[1]);
}

/** A search cursor that no page handed out. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one a previous page returned: start again without it');
  }
}

function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return String(message ?? err);
}

function toAuditEvent(row: AuditEventTable): AuditEvent {
  return {
    seq: Number(row.seq),
    id: row.id,
    occurredAt: row.occurred_at,
    type: row.event_type as AuditEventType,
    outcome: row.outcome as AuditOutcome,
    tenantId: row.tenant_id,
    companyDomain: row.company_domain,
    actingUser: row.acting_user,
    reportOwner: row.report_owner,
    itemUrl: row.item_url,
    launchId: row.launch_id,
    field: row.field,
    oldValue: row.old_value,
    newValue: row.new_value,
    reason: row.reason,
    correlationId: row.correlation_id,
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** What an outcome event repeats of its request: who, which item and field, from what to what. */
function pickContext(event: AuditEvent): AuditEventInput {
  const { tenantId, companyDomain, actingUser, reportOwner, itemUrl, launchId, field, oldValue, newValue, correlationId } = event;
  return { type: event.type, outcome: event.outcome, tenantId, companyDomain, actingUser, reportOwner, itemUrl, launchId, field, oldValue, newValue, correlationId };
}
