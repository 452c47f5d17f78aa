/**
 * The S3 task store (`state: { backend: "s3", bucket, prefix }`): one truth about every deployment
 * for a team, from many machines and many agents at once. Same interface, same hash chain and
 * same `verify` as the local store.
 *
 * ## Layout (under `<prefix>/`)
 *   tasks/<id>/head.json                  head pointer: {seq, hash, tail: [last events], commit}
 *   tasks/<id>/events/000000000042.json   one object per event: exactly the line the local store
 *                                         would write ({seq, ts, type, data, prev, hash} + "\n");
 *                                         the newest events live in the head until they spill
 *   tasks/<id>/spill/000000000032         marker: every event object up to seq 32 exists
 *   tasks/<id>/lock.json                  the operation lock (see s3-lease.ts)
 *   tasks/<id>/journal.md, backups/…      derived files
 *   tasks/<id>/quarantine/<time>.jsonl    what a repair cut off
 *   audit/head.json, audit/events/…       refusals that concern no task (same scheme)
 *   create.lock                           serialises "one open task per environment + component"
 *
 * ## Write scheme — why it cannot lose or fork the chain
 * The head pointer is the single commit point. An append of events n..m (one `decide()` batch)
 * is committed by one PutObject of the head with `If-Match: <etag of the head decide() saw>`
 * (`If-None-Match: *` for a task's first event, which is also how a task id is claimed); the new
 * head carries the batch in its `tail`, the newest events of the chain. S3 applies a conditional
 * write atomically: of two writers that saw the same head exactly one wins, the other gets 412
 * (or 409 while the first is in flight). The loser reads the head again, runs its `decide()`
 * again against the new state, and retries with jittered backoff until `appendDeadlineMs`, then
 * reports the failure — never acknowledged, never written. Hence:
 *  - no fork: a head can only replace the head its writer read, so every seq is decided once,
 *    by the one head write that won, and its `prev` is the hash of the event before it.
 *  - atomic batches: a batch is in the chain when, and only when, its head write won.
 *  - no loss: events leave the head's tail only once their objects exist. Objects are created
 *    with `If-None-Match: *` (412 = already there; never overwritten, never deleted outside
 *    `repair`). When a commit takes the tail over `maxTailEvents`/`maxTailBytes`, its writer
 *    spills the older half into objects in the background and then writes the marker
 *    `spill/<last seq>`; a later writer drops exactly the events a marker vouches for (or, if
 *    none exists by twice the limit, writes the objects itself first). Invariant: every
 *    committed seq ≤ head.seq is in head.tail or has its object. A writer that dies anywhere in
 *    this leaves either the old head (its batch was never acknowledged) or the new one (complete),
 *    and at worst objects nobody needed yet.
 *  - ambiguous outcomes (a timeout or retry after the head write was sent) are settled by reading
 *    the head again: if the chain holds our first event's hash at its seq, the write won.
 * Readers take the head (a conditional GET: 304 when nothing changed), then only the events
 * they do not hold yet — from the head's tail, or one GET per spilled object — and check the
 * chain from where their verified copy ended. `verify` reads every object and the head from
 * scratch and checks the same chain as the local store, naming the object that breaks it.
 * This relies on S3's atomic conditional writes; moto 5.2.1 does not make them atomic under
 * concurrent requests (see test/helpers/atomic-s3-proxy.mjs).
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { AwsClients, type AwsClientsOptions } from '../aws/clients.js';
import { computeEventHash, makeEvent, serializeEvent, sha256Hex, type ChainProblem, type StoredEvent } from './event-log.js';
import { lockOwner } from './local-store.js';
import { ObjectStore, StateStoreError } from './s3-objects.js';
import { forceReleaseLease, leaseIsStale, readLease, tryAcquireLease, type LeaseState, type LeaseTiming } from './s3-lease.js';
import {
  JournalBrokenError,
  TaskExistsError,
  TaskLockedError,
  TaskNotFoundError,
  assertTaskId,
  type Decide,
  type ForceUnlockReport,
  type LockOwner,
  type NewEvent,
  type RepairReport,
  type TaskLog,
  type TaskStore,
  type VerifyReport,
} from './task-store.js';

export const HEAD_FORMAT = 'deploy-mcp/s3-head@1';

export interface S3StoreOptions {
  bucket: string;
  prefix?: string;
  /** Region of the client (default AWS_REGION, AWS_DEFAULT_REGION, then us-east-1; S3 follows region redirects). */
  region?: string;
  profile?: string;
  /** Endpoint override (moto, MinIO); default AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** Environment to read endpoint and static credentials from (tests), as in AwsClients. */
  env?: NodeJS.ProcessEnv;
  maxAttempts?: number;
  /** How long an append keeps retrying when other writers keep winning (default 120 s). */
  appendDeadlineMs?: number;
  /** Operation lock heartbeat (default 15 s) and the age after which a silent lock is stale (default 120 s). */
  lockHeartbeatMs?: number;
  lockStaleMs?: number;
  /** How many of the last events the head keeps (default 64, and at most `maxTailBytes` of them). */
  maxTailEvents?: number;
  maxTailBytes?: number;
  /** Where a lost lock or a background failure is reported (default stderr). */
  warn?: (message: string) => void;
}

interface HeadBody {
  format: typeof HEAD_FORMAT;
  seq: number;
  hash: string;
  tail: StoredEvent[];
  commit: string;
  writer: { host: string; pid: number };
  at: string;
}

interface LogCache {
  events: StoredEvent[];
  /** ETag of the head these events end at; null while the log does not exist. */
  etag: string | null;
  /** Seq of the first event in that head's tail. */
  tailStart: number;
  /** Every seq ≤ this has its event object (known from markers, reads or our own spills). */
  spilledThrough: number;
  /** The tailStart for which spill markers were last listed (list once per tail). */
  markersListedFor: number;
}

class ChainError extends Error {
  constructor(readonly problem: ChainProblem) {
    super(problem.message);
  }
}

const pad = (seq: number) => String(seq).padStart(12, '0');
const sizeOf = (events: readonly StoredEvent[]) => events.reduce((n, e) => n + Buffer.byteLength(serializeEvent(e)), 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SAFE_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Names under a task that belong to the log and its lock, never to derived files. */
const RESERVED = new Set(['events', 'spill', 'head.json', 'lock.json', 'quarantine']);

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
async function mapLimit<I, O>(items: readonly I[], limit: number, fn: (item: I) => Promise<O>): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

function isEventShape(v: unknown): v is StoredEvent {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  return (
    Number.isInteger(e.seq) &&
    typeof e.ts === 'string' &&
    typeof e.type === 'string' &&
    !!e.data && typeof e.data === 'object' && !Array.isArray(e.data) &&
    typeof e.prev === 'string' &&
    typeof e.hash === 'string'
  );
}

/** The same checks as the local log's parser, with messages that name the S3 object. */
function checkEvent(value: unknown, seq: number, prev: { seq: number; hash: string } | null, where: string): StoredEvent {
  const fail = (kind: ChainProblem['kind'], message: string): never => {
    throw new ChainError({ line: seq, byteOffset: 0, kind, message });
  };
  if (!isEventShape(value)) return fail('bad-shape', `${where} is not an event {seq, ts, type, data, prev, hash}`);
  if (value.seq !== seq) {
    return fail('seq-gap', `${where} holds seq ${value.seq}, expected ${seq} (an event was deleted, inserted or reordered)`);
  }
  if (value.prev !== (prev ? prev.hash : '0'.repeat(64))) {
    return fail('prev-mismatch', `${where} (seq ${seq}) does not point at the hash of the event before it`);
  }
  if (value.hash !== computeEventHash(value)) {
    return fail('hash-mismatch', `${where} (seq ${seq}) was modified after it was written (hash mismatch)`);
  }
  return value;
}

function parseEventObject(body: Buffer, seq: number, where: string): unknown {
  const text = body.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl !== text.length - 1) {
    throw new ChainError({ line: seq, byteOffset: 0, kind: 'bad-shape', message: `${where} does not hold exactly one event line` });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ChainError({ line: seq, byteOffset: 0, kind: 'unparseable', message: `${where} is not valid JSON` });
  }
}

function parseHead(body: Buffer): HeadBody | null {
  try {
    const h = JSON.parse(body.toString('utf8')) as HeadBody;
    if (h?.format !== HEAD_FORMAT || !Number.isInteger(h.seq) || h.seq < 0 || typeof h.hash !== 'string' || !Array.isArray(h.tail)) return null;
    if (h.tail.length > h.seq) return null;
    return h;
  } catch {
    return null;
  }
}

/** Internals an event log needs from its store. */
interface LogHost {
  objects: ObjectStore;
  options: Required<Pick<S3StoreOptions, 'appendDeadlineMs' | 'maxTailEvents' | 'maxTailBytes'>>;
  warn(message: string): void;
}

interface Inspection {
  head: { raw: Buffer; etag: string; body: HeadBody | null } | null;
  /** Verified events, from seq 1 up to the first problem. */
  valid: StoredEvent[];
  problem: ChainProblem | null;
  /** Event objects by seq, as listed. */
  objects: Map<number, { key: string; etag: string }>;
}

/** One hash-chained log in S3 (a task's, or the audit trail). */
export class S3EventLog {
  private cache: LogCache | null = null;
  /** Serialises this process's appends to the log. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Serialises changes to the cached copy (reads that extend it, commits that push to it). */
  private cacheLock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: LogHost,
    /** Key prefix of this log, e.g. `team/tasks/7`. */
    readonly root: string,
    /** For messages: "task 7" or "the audit log". */
    private readonly label: string,
    /** Task id for errors (0 for the audit log). */
    private readonly taskId: number,
    /** The audit log comes into being with its first append; a task only through createTask. */
    private readonly createOnAppend = false,
  ) {}

  get headKey(): string {
    return `${this.root}/head.json`;
  }

  eventKey(seq: number): string {
    return `${this.root}/events/${pad(seq)}.json`;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.cacheLock.catch(() => undefined).then(fn);
    this.cacheLock = run;
    return run;
  }

  private relative(key: string): string {
    return key.startsWith(`${this.root}/`) ? key.slice(this.root.length + 1) : key;
  }

  async load(): Promise<TaskLog> {
    return this.view(await this.sync());
  }

  /** Whether the head exists (a conditional GET when this process holds a copy). */
  async exists(): Promise<boolean> {
    const got = await this.host.objects.get(this.headKey, this.cache?.etag ?? undefined);
    return got !== null;
  }

  /** Writes the first event of a new log; false when the log already exists. */
  async create(event: StoredEvent): Promise<boolean> {
    const out = await this.host.objects.put(this.headKey, this.headBody([event]), { ifNoneMatch: true });
    if (out === 'conflict') return false;
    const cache: LogCache = { events: [event], etag: out.etag, tailStart: 1, spilledThrough: 0, markersListedFor: 0 };
    this.cache = cache;
    return true;
  }

  transact<T>(decide: Decide<T>): Promise<{ appended: StoredEvent[]; result: T }> {
    // One writer per log inside this process; S3's conditional writes order the processes.
    const run = this.queue.catch(() => undefined).then(() => this.commitLoop(decide));
    this.queue = run;
    return run;
  }

  async verify(): Promise<VerifyReport> {
    const found = await this.inspect();
    return {
      taskId: this.taskId,
      ok: !found.problem,
      events: found.valid.length,
      head: found.valid.at(-1)?.hash ?? null,
      problem: found.problem,
      tornTail: null,
    };
  }

  // ---- reading ----------------------------------------------------------------------------

  /** Brings the verified copy up to the current head, reading only what is new. */
  sync(): Promise<LogCache> {
    return this.exclusive(() => this.syncNow());
  }

  private async syncNow(): Promise<LogCache> {
    const cached = this.cache;
    const got = await this.host.objects.get(this.headKey, cached?.etag ?? undefined);
    if (got === 'not-modified' && cached) return cached;
    if (got === null || got === 'not-modified') {
      this.cache = null;
      const leftovers = await this.host.objects.list(`${this.root}/events/`);
      if (leftovers.objects.length > 0) {
        throw this.broken({
          line: 1,
          byteOffset: 0,
          kind: 'bad-shape',
          message: `the head pointer ${this.relative(this.headKey)} is missing although ${leftovers.objects.length} event objects exist`,
        });
      }
      if (this.createOnAppend) {
        const empty: LogCache = { events: [], etag: null, tailStart: 1, spilledThrough: 0, markersListedFor: 0 };
        this.cache = empty;
        return empty;
      }
      throw new TaskNotFoundError(this.taskId);
    }
    const head = parseHead(got.body);
    try {
      if (!head) throw new ChainError({ line: 1, byteOffset: 0, kind: 'unparseable', message: `the head pointer ${this.relative(this.headKey)} is not a valid head` });
      const base = cached && cached.etag && head.seq >= cached.events.length ? cached : null;
      const next = await this.extend(base, head, got.etag);
      this.cache = next;
      return next;
    } catch (err) {
      this.cache = null;
      if (!(err instanceof ChainError)) throw err;
      // A full read from scratch names the first bad event (or, if the log changed under the
      // incremental read, gives a verified copy to continue from).
      const found = await this.inspect();
      if (found.problem || !found.head?.body) throw this.broken(found.problem ?? err.problem);
      const fresh: LogCache = {
        events: found.valid,
        etag: found.head.etag,
        tailStart: found.head.body.seq - found.head.body.tail.length + 1,
        spilledThrough: found.head.body.seq - found.head.body.tail.length,
        markersListedFor: 0,
      };
      this.cache = fresh;
      return fresh;
    }
  }

  private async extend(base: LogCache | null, head: HeadBody, etag: string): Promise<LogCache> {
    const held = base?.events ?? [];
    const tailStart = head.seq - head.tail.length + 1;
    // A head whose tail disagrees with events already verified rewrites history.
    for (const t of head.tail) {
      const mine = held[(t?.seq ?? 0) - 1];
      if (mine && mine.hash !== t.hash) {
        throw new ChainError({ line: mine.seq, byteOffset: 0, kind: 'hash-mismatch', message: `the head pointer's copy of seq ${mine.seq} differs from the event already read` });
      }
    }
    const from = held.length + 1;
    const fetchUpTo = Math.min(head.seq, tailStart - 1);
    const seqs: number[] = [];
    for (let s = from; s <= fetchUpTo; s++) seqs.push(s);
    const fetched = await mapLimit(seqs, 16, async (s) => {
      const obj = await this.host.objects.get(this.eventKey(s));
      const where = this.relative(this.eventKey(s));
      if (!obj || obj === 'not-modified') {
        throw new ChainError({ line: s, byteOffset: 0, kind: 'seq-gap', message: `${where} is missing (the head pointer no longer holds seq ${s} either)` });
      }
      return parseEventObject(obj.body, s, where);
    });
    let prev = held.at(-1) ?? null;
    const added: StoredEvent[] = [];
    for (let s = from; s <= head.seq; s++) {
      const raw = s <= fetchUpTo ? fetched[s - from] : head.tail[s - tailStart];
      const where = s <= fetchUpTo ? this.relative(this.eventKey(s)) : `the head pointer's copy of seq ${s}`;
      const e = checkEvent(raw, s, prev, where);
      added.push(e);
      prev = e;
    }
    const last = prev;
    if ((last?.seq ?? 0) !== head.seq || (last ? last.hash : '0'.repeat(64)) !== head.hash) {
      throw new ChainError({
        line: head.seq || 1,
        byteOffset: 0,
        kind: 'hash-mismatch',
        message: `the head pointer ${this.relative(this.headKey)} names seq ${head.seq} with a hash that is not the chain's last event`,
      });
    }
    // Everything before the tail has its object (the invariant).
    const spilledThrough = Math.max(base?.spilledThrough ?? 0, tailStart - 1);
    if (base) {
      base.events.push(...added);
      base.etag = etag;
      base.tailStart = tailStart;
      base.spilledThrough = spilledThrough;
      return base;
    }
    return { events: added, etag, tailStart, spilledThrough, markersListedFor: 0 };
  }

  private view(cache: LogCache): TaskLog {
    const last = cache.events.at(-1);
    return { taskId: this.taskId, events: cache.events, head: last ? { seq: last.seq, hash: last.hash } : null };
  }

  private broken(problem: ChainProblem): JournalBrokenError {
    return new JournalBrokenError(this.taskId, problem);
  }

  /** Reads every object and the head from scratch, as `verify` does. */
  async inspect(): Promise<Inspection> {
    const objects = this.host.objects;
    // List before reading the head: every object listed then is ≤ the head read after it
    // (objects only ever spill out of an older head), so none looks "beyond the head" by timing.
    const listing = await objects.list(`${this.root}/events/`);
    const got = await objects.get(this.headKey);
    const byseq = new Map<number, { key: string; etag: string }>();
    for (const o of listing.objects) {
      const m = /\/events\/(\d{12})\.json$/.exec(o.key);
      if (m) byseq.set(Number(m[1]), { key: o.key, etag: o.etag });
    }
    const head = got && got !== 'not-modified' ? { raw: got.body, etag: got.etag, body: parseHead(got.body) } : null;
    if (!head && byseq.size === 0) throw new TaskNotFoundError(this.taskId);

    const valid: StoredEvent[] = [];
    let problem: ChainProblem | null = null;
    const headSeq = head?.body?.seq ?? Math.max(0, ...byseq.keys());
    const tail = head?.body?.tail ?? [];
    const tailStart = headSeq - tail.length + 1;
    const seqs = Array.from({ length: headSeq }, (_, i) => i + 1);
    const bodies = await mapLimit(seqs, 16, async (s) => {
      const o = byseq.get(s);
      if (!o) return null;
      const obj = await objects.get(o.key);
      return obj && obj !== 'not-modified' ? obj.body : null;
    });
    let prev: StoredEvent | null = null;
    try {
      for (const s of seqs) {
        const where = this.relative(this.eventKey(s));
        const body = bodies[s - 1];
        const copy = s >= tailStart ? tail[s - tailStart] : undefined;
        let e: StoredEvent;
        if (body) {
          e = checkEvent(parseEventObject(body, s, where), s, prev, where);
          if (copy && (copy as StoredEvent).hash !== e.hash) {
            throw new ChainError({ line: s, byteOffset: 0, kind: 'hash-mismatch', message: `${where} (seq ${s}) differs from the head pointer's copy of it (one of them was modified)` });
          }
        } else if (copy) {
          e = checkEvent(copy, s, prev, `the head pointer's copy of seq ${s}`);
        } else {
          throw new ChainError({ line: s, byteOffset: 0, kind: 'seq-gap', message: `seq ${s} is missing: neither ${where} nor the head pointer holds it (an event object was deleted)` });
        }
        valid.push(e);
        prev = e;
      }
      if (!head) {
        throw new ChainError({ line: headSeq + 1, byteOffset: 0, kind: 'bad-shape', message: `the head pointer ${this.relative(this.headKey)} is missing (${byseq.size} event objects exist)` });
      }
      if (!head.body) {
        throw new ChainError({ line: headSeq + 1, byteOffset: 0, kind: 'unparseable', message: `the head pointer ${this.relative(this.headKey)} is not a valid head (${HEAD_FORMAT})` });
      }
      if ((prev?.hash ?? '0'.repeat(64)) !== head.body.hash) {
        throw new ChainError({ line: headSeq || 1, byteOffset: 0, kind: 'hash-mismatch', message: `the head pointer ${this.relative(this.headKey)} names a hash that is not the chain's last event` });
      }
      const beyond = [...byseq.keys()].filter((s) => s > headSeq).sort((a, b) => a - b);
      if (beyond.length) {
        const key = this.relative(byseq.get(beyond[0])!.key);
        throw new ChainError({ line: beyond[0], byteOffset: 0, kind: 'seq-gap', message: `${key} lies beyond the head (seq ${headSeq}): it was never committed (written outside deploy-mcp?)` });
      }
    } catch (err) {
      if (!(err instanceof ChainError)) throw err;
      problem = err.problem;
    }
    return { head, valid, problem, objects: byseq };
  }

  // ---- writing ----------------------------------------------------------------------------

  private async commitLoop<T>(decide: Decide<T>): Promise<{ appended: StoredEvent[]; result: T }> {
    const deadline = Date.now() + this.host.options.appendDeadlineMs;
    let cache = this.cache;
    let fresh = false;
    if (!cache) {
      cache = await this.sync();
      fresh = true;
    }
    let lost = 0;
    for (;;) {
      let decided: { append: NewEvent[]; result: T };
      try {
        decided = await decide(this.view(cache));
      } catch (err) {
        // decide() may have judged a stale copy: judge the current one before giving up.
        if (fresh) throw err;
        cache = await this.sync();
        fresh = true;
        continue;
      }
      if (decided.append.length === 0) {
        if (fresh) return { appended: [], result: decided.result };
        const seen = cache.etag;
        cache = await this.sync();
        fresh = true;
        if (cache.etag === seen) return { appended: [], result: decided.result };
        continue;
      }
      let head = cache.events.at(-1) ?? null;
      const made = decided.append.map((e) => {
        const ev = makeEvent(head ? { seq: head.seq, hash: head.hash } : null, e.type, e.data);
        head = ev;
        return ev;
      });
      const base = cache;
      const outcome = await this.exclusive(() => this.tryCommit(base, made));
      if (outcome === 'committed') return { appended: made, result: decided.result };
      if (outcome === 'stale') {
        cache = this.cache ?? (await this.sync());
        fresh = false;
        continue;
      }
      lost++;
      if (Date.now() > deadline) {
        throw new Error(
          `Could not append to ${this.label} within ${Math.round(this.host.options.appendDeadlineMs / 1000)} s: other writers won the head pointer ${lost} times in a row. Nothing was written; try again.`,
        );
      }
      // Full jitter: contenders spread out instead of colliding again in step.
      await sleep(Math.random() * Math.min(400, 10 * 2 ** Math.min(lost, 6)));
      cache = await this.sync();
      fresh = true;
      if (cache.events[made[0].seq - 1]?.hash === made[0].hash) {
        // The write had landed after all (a response lost, then a retry that found its own
        // change): hashes cover the timestamp, so this batch is ours and nobody else's.
        return { appended: made, result: decided.result };
      }
    }
  }

  private async tryCommit(cache: LogCache, made: StoredEvent[]): Promise<'committed' | 'lost' | 'unknown' | 'stale'> {
    // A reader in this process moved the copy on since decide() ran: decide again on the newer one.
    if (this.cache !== cache || cache.events.length !== made[0].seq - 1) return 'stale';
    const { maxTailEvents, maxTailBytes } = this.host.options;
    const before = cache.events.slice(Math.max(0, cache.tailStart - 1));
    const window = [...before, ...made];
    const over = (w: StoredEvent[], factor: number) => w.length > maxTailEvents * factor || sizeOf(w) > maxTailBytes * factor;
    // The head keeps the newest events; older ones may leave it only once their objects exist.
    let drop = 0;
    if (over(window, 1)) {
      const committedEnd = made[0].seq - 1;
      let through = await this.spilledThroughHint(cache, false);
      if (through < cache.tailStart && over(window, 2)) {
        // Nobody spilled them (the spiller died, or no writer crossed the mark): look once more,
        // then write the objects now, before the head that drops them.
        through = await this.spilledThroughHint(cache, true);
        if (through < cache.tailStart) {
          const keep = this.newTail(window, made.length, Math.ceil(maxTailEvents / 2), Math.floor(maxTailBytes / 2)).length;
          const end = made.at(-1)!.seq - keep;
          if (end >= cache.tailStart) await this.spill(cache, cache.tailStart, end);
          through = cache.spilledThrough;
        }
      }
      drop = Math.max(0, Math.min(through, committedEnd) - cache.tailStart + 1);
    }
    const tail = window.slice(drop);
    const newTailStart = cache.tailStart + drop;

    let out: { etag: string } | 'conflict';
    try {
      out = await this.host.objects.put(this.headKey, this.headBody(tail), cache.etag ? { ifMatch: cache.etag } : { ifNoneMatch: true });
    } catch (err) {
      if (!(err instanceof StateStoreError) || !err.retryable) throw err;
      this.host.warn(`Appending to ${this.label}: the head write failed (${err.message}); checking whether it landed.`);
      return 'unknown';
    }
    if (out === 'conflict') return 'lost';
    cache.events.push(...made);
    cache.etag = out.etag;
    cache.tailStart = newTailStart;
    if (!over(before, 1) && over(tail, 1)) {
      // This commit took the tail over its limit: spill its older half now, in the background,
      // so that whichever writer drops it later finds the marker and writes nothing.
      const keep = this.newTail(tail, made.length, Math.ceil(maxTailEvents / 2), Math.floor(maxTailBytes / 2)).length;
      const end = made.at(-1)!.seq - keep;
      if (end >= newTailStart) this.spillInBackground(cache, newTailStart, end);
    }
    return 'committed';
  }

  /** The newest events of `window` within the limits, and never fewer than the last `minimum`. */
  private newTail(window: StoredEvent[], minimum: number, maxTailEvents = this.host.options.maxTailEvents, maxTailBytes = this.host.options.maxTailBytes): StoredEvent[] {
    let keep = minimum;
    let bytes = sizeOf(window.slice(window.length - minimum));
    while (keep < window.length && keep < maxTailEvents) {
      const size = Buffer.byteLength(serializeEvent(window[window.length - keep - 1]));
      if (bytes + size > maxTailBytes) break;
      bytes += size;
      keep++;
    }
    return window.slice(window.length - keep);
  }

  private headBody(tail: StoredEvent[]): string {
    const last = tail.at(-1);
    const body: HeadBody = {
      format: HEAD_FORMAT,
      seq: last?.seq ?? 0,
      hash: last?.hash ?? '0'.repeat(64),
      tail,
      commit: randomBytes(8).toString('hex'),
      writer: { host: os.hostname(), pid: process.pid },
      at: new Date().toISOString(),
    };
    return JSON.stringify(body);
  }

  markerKey(seq: number): string {
    return `${this.root}/spill/${pad(seq)}`;
  }

  /**
   * Writes the objects of committed events from..to (If-None-Match: *; 412 = already there), then
   * the marker spill/<to>. The marker is written last, so it proves every object up to `to`
   * exists: those below `from` left an earlier head, which they could only do once written.
   */
  private async spill(cache: LogCache, from: number, to: number): Promise<void> {
    const start = Math.max(from, cache.spilledThrough + 1);
    const events = cache.events.slice(start - 1, to);
    await mapLimit(events, 16, (e) => this.host.objects.put(this.eventKey(e.seq), serializeEvent(e), { ifNoneMatch: true }));
    await this.host.objects.put(this.markerKey(to), JSON.stringify({ spilledThrough: to }), { ifNoneMatch: true });
    cache.spilledThrough = Math.max(cache.spilledThrough, to);
  }

  private readonly background = new Set<Promise<void>>();

  private spillInBackground(cache: LogCache, from: number, to: number): void {
    const run = this.spill(cache, from, to).catch((err: unknown) => {
      // Not fatal: the events stay in the head, and a later writer spills them itself.
      this.host.warn(`Could not spill events ${from}–${to} of ${this.label} yet: ${(err as Error).message}`);
    });
    this.background.add(run);
    void run.finally(() => this.background.delete(run));
  }

  /** The highest seq known to have its object and everything before it (markers are listed once per tail). */
  private async spilledThroughHint(cache: LogCache, relist: boolean): Promise<number> {
    if (cache.spilledThrough >= cache.tailStart) return cache.spilledThrough;
    if (!relist && cache.markersListedFor === cache.tailStart) return cache.spilledThrough;
    cache.markersListedFor = cache.tailStart;
    const { objects } = await this.host.objects.list(`${this.root}/spill/`, undefined, this.markerKey(cache.tailStart - 1));
    for (const o of objects) {
      const m = /\/spill\/(\d{12})$/.exec(o.key);
      if (m && Number(m[1]) <= cache.events.length) cache.spilledThrough = Math.max(cache.spilledThrough, Number(m[1]));
    }
    return cache.spilledThrough;
  }

  /** Waits for background spills (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  // ---- repair -----------------------------------------------------------------------------

  async repair(actor: string, quarantineKey: (stamp: string) => string): Promise<RepairReport> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = await this.inspect();
      if (!found.problem) {
        return { taskId: this.taskId, keptEvents: found.valid.length, quarantinedBytes: 0, quarantinePath: null, event: null };
      }
      const keep = found.valid.length;
      // What is cut off: every object from the first bad seq on, and the head as it was.
      const cut = [...found.objects.entries()].filter(([s]) => s > keep).sort((a, b) => a[0] - b[0]);
      const parts: Buffer[] = [];
      for (const [, o] of cut) {
        const obj = await this.host.objects.get(o.key);
        if (obj && obj !== 'not-modified') parts.push(Buffer.from(`${JSON.stringify({ object: this.relative(o.key), body: obj.body.toString('utf8') })}\n`));
      }
      if (found.head) parts.push(Buffer.from(`${JSON.stringify({ object: this.relative(this.headKey), body: found.head.raw.toString('utf8') })}\n`));
      const quarantined = Buffer.concat(parts);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const qKey = quarantineKey(stamp);
      await this.host.objects.put(qKey, quarantined, null, 'application/x-ndjson');

      const last = found.valid.at(-1) ?? null;
      const event = makeEvent(last ? { seq: last.seq, hash: last.hash } : null, 'log.repaired', {
        actor,
        problem: found.problem,
        keptEvents: keep,
        quarantinedBytes: quarantined.length,
        quarantineFile: this.relative(qKey),
        quarantineSha256: sha256Hex(quarantined),
      });
      // Cut first, then commit the new head: a crash in between leaves a log that still fails
      // verification at the same place, and the repair can simply be run again.
      for (const [, o] of cut.reverse()) await this.host.objects.delete(o.key);
      // Spill markers past the cut vouch for objects that are gone now.
      const markers = await this.host.objects.list(`${this.root}/spill/`, undefined, this.markerKey(keep));
      for (const o of markers.objects) await this.host.objects.delete(o.key);
      // Kept events that only the old head held need their objects before the new head drops them.
      const tail = this.newTail([...found.valid, event], 1);
      const firstInTail = event.seq - tail.length + 1;
      for (const e of found.valid) {
        if (e.seq < firstInTail && !found.objects.has(e.seq)) await this.host.objects.put(this.eventKey(e.seq), serializeEvent(e), { ifNoneMatch: true });
      }
      const out = await this.host.objects.put(this.headKey, this.headBody(tail), found.head ? { ifMatch: found.head.etag } : { ifNoneMatch: true });
      if (out === 'conflict') continue; // someone wrote meanwhile: look again
      const cache: LogCache = { events: [...found.valid, event], etag: out.etag, tailStart: firstInTail, spilledThrough: firstInTail - 1, markersListedFor: 0 };
      this.cache = cache;
      return { taskId: this.taskId, keptEvents: keep, quarantinedBytes: quarantined.length, quarantinePath: this.host.objects.url(qKey), event };
    }
    throw new Error(`Could not repair ${this.label}: it kept changing while being repaired; stop the servers writing to it and try again.`);
  }

  forget(): void {
    this.cache = null;
  }
}

export class S3TaskStore implements TaskStore {
  readonly backend = 's3' as const;
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly objects: ObjectStore;
  private readonly logs = new Map<number, S3EventLog>();
  private readonly audit: S3EventLog;
  private readonly host: LogHost;
  private readonly timing: LeaseTiming;
  private readonly instance = randomBytes(6).toString('hex');

  constructor(opts: S3StoreOptions) {
    if (!opts.bucket) throw new Error('The S3 task store needs a bucket (state.bucket in deploy-mcp.config.json).');
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix.split('/').some((p) => p === '.' || p === '..')) throw new Error(`Refusing state.prefix ${JSON.stringify(opts.prefix)}: "." and ".." are not allowed.`);
    const env = opts.env ?? process.env;
    const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const clients = new AwsClients(
      { region, profile: opts.profile },
      { endpoint: opts.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL, env: opts.env, maxAttempts: opts.maxAttempts ?? 3 } satisfies AwsClientsOptions,
    );
    this.objects = new ObjectStore(clients, this.bucket);
    this.location = `s3://${this.bucket}/${this.prefix ? `${this.prefix}/` : ''}`;
    const warn = opts.warn ?? ((m: string) => process.stderr.write(`deploy-mcp warning: ${m}\n`));
    this.host = {
      objects: this.objects,
      options: {
        appendDeadlineMs: opts.appendDeadlineMs ?? 120_000,
        maxTailEvents: Math.max(1, opts.maxTailEvents ?? 64),
        maxTailBytes: opts.maxTailBytes ?? 48 * 1024,
      },
      warn,
    };
    this.timing = { heartbeatMs: opts.lockHeartbeatMs ?? 15_000, staleMs: opts.lockStaleMs ?? 120_000 };
    if (this.timing.staleMs < this.timing.heartbeatMs * 2) {
      throw new Error(`lockStaleMs (${this.timing.staleMs}) must be at least twice lockHeartbeatMs (${this.timing.heartbeatMs}).`);
    }
    this.audit = new S3EventLog(this.host, this.key('audit'), 'the audit log', 0, true);
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].filter(Boolean).join('/');
  }

  private taskRoot(taskId: number): string {
    return this.key('tasks', String(assertTaskId(taskId)));
  }

  /** The event log of one task (cached per task). */
  log(taskId: number): S3EventLog {
    const id = assertTaskId(taskId);
    let log = this.logs.get(id);
    if (!log) {
      log = new S3EventLog(this.host, this.taskRoot(id), `task ${id}`, id);
      this.logs.set(id, log);
    }
    return log;
  }

  async listTaskIds(): Promise<number[]> {
    const { prefixes } = await this.objects.list(`${this.key('tasks')}/`, '/');
    return prefixes
      .map((p) => /\/?(\d+)\/$/.exec(p)?.[1])
      .filter((n): n is string => !!n && /^[1-9]\d{0,8}$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  }

  async createTask(first: NewEvent, requestedId?: number): Promise<{ taskId: number; event: StoredEvent }> {
    const ids = await this.listTaskIds();
    let candidate = requestedId !== undefined ? assertTaskId(requestedId) : (ids.at(-1) ?? 0) + 1;
    for (let attempt = 0; attempt < 1000; attempt++, candidate++) {
      const event = makeEvent(null, first.type, { ...first.data, taskId: candidate });
      // Creating the head with If-None-Match: * claims the id: of two creators one wins.
      const log = new S3EventLog(this.host, this.taskRoot(candidate), `task ${candidate}`, candidate);
      if (await log.create(event)) {
        this.logs.set(candidate, log);
        return { taskId: candidate, event };
      }
      if (requestedId !== undefined) throw new TaskExistsError(requestedId);
    }
    throw new Error('Could not allocate a task id after 1000 attempts.');
  }

  async load(taskId: number): Promise<TaskLog> {
    return this.log(taskId).load();
  }

  async transact<T>(taskId: number, decide: Decide<T>): Promise<{ appended: StoredEvent[]; result: T }> {
    return this.log(taskId).transact(decide);
  }

  async append(taskId: number, event: NewEvent): Promise<StoredEvent> {
    const { appended } = await this.transact(taskId, () => ({ append: [event], result: null }));
    return appended[0];
  }

  async verify(taskId: number): Promise<VerifyReport> {
    // A separate reader: verification never trusts what this process has cached.
    return new S3EventLog(this.host, this.taskRoot(taskId), `task ${taskId}`, assertTaskId(taskId)).verify();
  }

  async repair(taskId: number, actor: string): Promise<RepairReport> {
    const log = this.log(taskId);
    const report = await log.repair(actor, (stamp) => `${this.taskRoot(taskId)}/quarantine/${stamp}.jsonl`);
    return report;
  }

  // ---- the operation lock ---------------------------------------------------------------

  private lockKey(taskId: number): string {
    return `${this.taskRoot(taskId)}/lock.json`;
  }

  async acquireLock(taskId: number, owner: LockOwner): Promise<() => Promise<void>> {
    await this.assertExists(taskId);
    const key = this.lockKey(taskId);
    const outcome = await tryAcquireLease(this.objects, key, owner, this.timing, (m) => this.host.warn(m));
    if (!outcome.acquired) throw new TaskLockedError(taskId, holderOf(outcome.holder));
    if (outcome.replaced && outcome.replacedStale) {
      // Taking over a silent holder's lock is recorded: it may have been cut off mid-operation.
      const previous = outcome.replaced;
      await this.append(taskId, {
        type: 'lock.stale-released',
        data: {
          holder: previous.body.owner,
          lockId: previous.body.lockId,
          lastHeartbeat: previous.body.heartbeatAt,
          staleAfterMs: previous.body.staleAfterMs,
          takenOverBy: describeOwner(owner),
          operation: owner.operation,
        },
      }).catch((err: unknown) => this.host.warn(`Could not record the takeover of a stale lock on task ${taskId}: ${(err as Error).message}`));
    }
    const lease = outcome.lease;
    return () => lease.release();
  }

  async lockHolder(taskId: number): Promise<LockOwner | null> {
    const state = await readLease(this.objects, this.lockKey(taskId));
    if (!state || state.body.state !== 'held' || leaseIsStale(state, Date.now(), this.timing.staleMs)) return null;
    return holderOf(state);
  }

  async forceUnlock(taskId: number, actor: string, reason?: string): Promise<ForceUnlockReport> {
    await this.assertExists(taskId);
    const previous = await forceReleaseLease(this.objects, this.lockKey(taskId), actor, reason);
    if (!previous) return { taskId, released: null, event: null };
    const event = await this.append(taskId, {
      type: 'lock.force-released',
      data: {
        holder: previous.body.owner,
        lockId: previous.body.lockId,
        lastHeartbeat: previous.body.heartbeatAt,
        stale: leaseIsStale(previous, Date.now(), this.timing.staleMs),
        forcedBy: actor,
        reason,
      },
    });
    return { taskId, released: holderOf(previous), event };
  }

  async withCreateLock<T>(fn: () => Promise<T>): Promise<T> {
    const key = this.key('create.lock');
    const owner = lockOwner('create-task', this.instance);
    const timing = { heartbeatMs: 5_000, staleMs: 30_000 };
    const start = Date.now();
    let delay = 20;
    for (;;) {
      const outcome = await tryAcquireLease(this.objects, key, { ...owner, since: new Date().toISOString() }, timing, (m) => this.host.warn(m));
      if (outcome.acquired) {
        try {
          return await fn();
        } finally {
          await outcome.lease.release().catch(() => undefined);
        }
      }
      if (Date.now() - start > 60_000) {
        const h = outcome.holder.body.owner;
        throw new Error(`Timed out waiting for ${this.objects.url(key)}, held by pid ${h.pid} on ${h.host} since ${h.since}.`);
      }
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 500);
    }
  }

  private async assertExists(taskId: number): Promise<void> {
    if (!(await this.log(taskId).exists())) throw new TaskNotFoundError(taskId);
  }

  // ---- derived files ----------------------------------------------------------------------

  private fileKey(taskId: number, name: string): string {
    if (!SAFE_NAME.test(name) || name.split('/').some((p) => p === '.' || p === '..')) {
      throw new Error(`Refusing file name ${JSON.stringify(name)}: only plain relative names are allowed.`);
    }
    if (RESERVED.has(name.split('/')[0])) throw new Error(`Refusing file name ${JSON.stringify(name)}: it belongs to the event log.`);
    return `${this.taskRoot(taskId)}/${name}`;
  }

  filePath(taskId: number, name: string): string {
    return this.objects.url(this.fileKey(taskId, name));
  }

  async writeFile(taskId: number, name: string, content: string | Buffer): Promise<string> {
    const key = this.fileKey(taskId, name);
    const type = name.endsWith('.md') ? 'text/markdown; charset=utf-8' : name.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    await this.objects.put(key, content, null, type);
    return this.objects.url(key);
  }

  async readFile(taskId: number, name: string): Promise<string | null> {
    const obj = await this.objects.get(this.fileKey(taskId, name));
    return obj && obj !== 'not-modified' ? obj.body.toString('utf8') : null;
  }

  async appendAudit(event: NewEvent): Promise<void> {
    await this.audit.transact(() => ({ append: [event], result: null }));
  }

  /** Waits for background object writes, then releases the SDK client. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.logs.values(), this.audit].map((l) => l.settle()));
    this.objects.destroy();
  }
}

function holderOf(state: LeaseState): LockOwner {
  return { ...state.body.owner, lockId: state.body.lockId, heartbeatAt: state.body.heartbeatAt } as LockOwner;
}

function describeOwner(o: LockOwner): string {
  return `${o.user ? `${o.user}@` : ''}${o.host} (pid ${o.pid}, ${o.operation})`;
}
