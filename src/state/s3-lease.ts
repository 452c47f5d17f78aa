/**
 * A lock held as one S3 object, for the task's operation lock and the create lock.
 *
 * Every change is a conditional write, and the object is never deleted, so no two processes can
 * both believe they took it:
 *  - free → held: PutObject with If-None-Match: * (the object does not exist yet), or with
 *    If-Match: <etag> on a `released` or stale lock object;
 *  - heartbeat: the holder rewrites it with If-Match: <its etag> every `heartbeatMs`, so a holder
 *    whose process died stops refreshing it and the lock becomes stale after `staleMs`;
 *  - release and force-unlock: If-Match: <etag> with `state: "released"`.
 * A holder whose heartbeat or release loses its If-Match learns that its lock was taken from it.
 *
 * Staleness is judged from the later of the holder's own heartbeat time and S3's LastModified,
 * so one wrong clock (the holder's or the reader's) alone does not break a live lock.
 */
import { randomBytes } from 'node:crypto';
import type { LockOwner } from './task-store.js';
import type { ObjectStore, StoredObject } from './s3-objects.js';

export const LOCK_FORMAT = 'deploy-mcp/s3-lock@1';

export interface LeaseBody {
  format: typeof LOCK_FORMAT;
  state: 'held' | 'released';
  lockId: string;
  owner: LockOwner;
  acquiredAt: string;
  heartbeatAt: string;
  /** The holder's promise: it refreshes heartbeatAt well within this many milliseconds. */
  staleAfterMs: number;
  released?: { at: string; by: string; forced: boolean; reason?: string };
}

export interface LeaseState {
  body: LeaseBody;
  etag: string;
  lastModified: Date | null;
}

export interface LeaseTiming {
  heartbeatMs: number;
  staleMs: number;
}

export type AcquireOutcome =
  | { acquired: true; lease: HeldLease; replaced: LeaseState | null; replacedStale: boolean }
  | { acquired: false; holder: LeaseState };

export function parseLease(obj: StoredObject): LeaseState | null {
  try {
    const body = JSON.parse(obj.body.toString('utf8')) as LeaseBody;
    if (body?.format !== LOCK_FORMAT || !body.owner || (body.state !== 'held' && body.state !== 'released')) return null;
    return { body, etag: obj.etag, lastModified: obj.lastModified };
  } catch {
    return null;
  }
}

export function leaseIsStale(state: LeaseState, now = Date.now(), fallbackStaleMs = 120_000): boolean {
  if (state.body.state !== 'held') return false;
  const beat = Date.parse(state.body.heartbeatAt);
  const modified = state.lastModified?.getTime() ?? NaN;
  const last = Math.max(Number.isFinite(beat) ? beat : 0, Number.isFinite(modified) ? modified : 0);
  const limit = state.body.staleAfterMs > 0 ? state.body.staleAfterMs : fallbackStaleMs;
  return now - last > limit;
}

export class HeldLease {
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private lost = false;

  constructor(
    private readonly objects: ObjectStore,
    readonly key: string,
    private body: LeaseBody,
    private etag: string,
    private readonly timing: LeaseTiming,
    private readonly onLost: (message: string) => void,
  ) {
    this.timer = setInterval(() => void this.heartbeat(), timing.heartbeatMs);
    this.timer.unref?.();
  }

  get lockId(): string {
    return this.body.lockId;
  }

  /** Whether this process still holds the lock, as of its last heartbeat. */
  get held(): boolean {
    return !this.lost;
  }

  heartbeat(): Promise<void> {
    return this.serial(async () => {
      if (this.lost || !this.timer) return;
      const next = { ...this.body, heartbeatAt: new Date().toISOString() };
      const out = await this.objects.put(this.key, JSON.stringify(next), { ifMatch: this.etag }).catch(() => null);
      if (out === 'conflict') {
        this.lost = true;
        this.stop();
        this.onLost(`The lock ${this.objects.url(this.key)} (${this.body.owner.operation}) was taken over or force-released while this process held it.`);
      } else if (out) {
        this.body = next;
        this.etag = out.etag;
      }
      // A failed heartbeat (network) is retried at the next tick; staleMs leaves room for several.
    });
  }

  release(): Promise<void> {
    return this.serial(async () => {
      this.stop();
      if (this.lost) return;
      this.lost = true;
      const released: LeaseBody = {
        ...this.body,
        state: 'released',
        released: { at: new Date().toISOString(), by: `${this.body.owner.user ?? 'pid ' + this.body.owner.pid}@${this.body.owner.host}`, forced: false },
      };
      // A conflict means someone already took the lock from us: nothing of ours to release.
      await this.objects.put(this.key, JSON.stringify(released), { ifMatch: this.etag });
    });
  }

  /** Stops heartbeating without releasing (tests: a process that hangs or dies). */
  abandon(): void {
    this.stop();
    this.lost = true;
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

export async function readLease(objects: ObjectStore, key: string): Promise<LeaseState | null> {
  const obj = await objects.get(key);
  if (!obj || obj === 'not-modified') return null;
  return parseLease(obj) ?? { body: unreadableLease(), etag: obj.etag, lastModified: obj.lastModified };
}

/** A lock object we cannot read is treated as held by an unknown owner until it goes stale. */
function unreadableLease(): LeaseBody {
  const epoch = new Date(0).toISOString();
  return {
    format: LOCK_FORMAT,
    state: 'held',
    lockId: 'unreadable',
    owner: { pid: -1, host: 'unknown', instance: 'unreadable', operation: 'unknown (unreadable lock object)', since: epoch },
    acquiredAt: epoch,
    heartbeatAt: epoch,
    staleAfterMs: 0,
  };
}

/** One attempt sequence to take the lock: never waits for a live holder. */
export async function tryAcquireLease(
  objects: ObjectStore,
  key: string,
  owner: LockOwner,
  timing: LeaseTiming,
  onLost: (message: string) => void,
): Promise<AcquireOutcome> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const now = new Date().toISOString();
    const body: LeaseBody = {
      format: LOCK_FORMAT,
      state: 'held',
      lockId: `lk-${randomBytes(8).toString('hex')}`,
      owner,
      acquiredAt: now,
      heartbeatAt: now,
      staleAfterMs: timing.staleMs,
    };
    const created = await objects.put(key, JSON.stringify(body), { ifNoneMatch: true });
    if (created !== 'conflict') {
      return { acquired: true, lease: new HeldLease(objects, key, body, created.etag, timing, onLost), replaced: null, replacedStale: false };
    }
    const current = await readLease(objects, key);
    if (!current) continue; // vanished between the two calls: try to create it again
    const stale = leaseIsStale(current, Date.now(), timing.staleMs);
    if (current.body.state === 'held' && !stale) return { acquired: false, holder: current };
    const replaced = await objects.put(key, JSON.stringify(body), { ifMatch: current.etag });
    if (replaced !== 'conflict') {
      return { acquired: true, lease: new HeldLease(objects, key, body, replaced.etag, timing, onLost), replaced: current, replacedStale: stale };
    }
    // Someone else changed it first (took it, heartbeated or released it): look again.
  }
  const current = await readLease(objects, key);
  if (current && current.body.state === 'held') return { acquired: false, holder: current };
  throw new Error(`Could not take the lock ${objects.url(key)}: it kept changing under us; try again.`);
}

/** Marks a held lock released on someone's behalf. Returns the state it replaced, or null when it was free. */
export async function forceReleaseLease(objects: ObjectStore, key: string, by: string, reason?: string): Promise<LeaseState | null> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const current = await readLease(objects, key);
    if (!current || current.body.state !== 'held') return null;
    const released: LeaseBody = { ...current.body, state: 'released', released: { at: new Date().toISOString(), by, forced: true, reason } };
    const out = await objects.put(key, JSON.stringify(released), { ifMatch: current.etag });
    if (out !== 'conflict') return current;
    // The holder heartbeated or released in between: read it again.
  }
  throw new Error(`Could not release the lock ${objects.url(key)}: it kept changing (its holder is alive and heartbeating).`);
}
