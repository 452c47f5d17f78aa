/**
 * The local task store: `<stateDir>/tasks/<id>/events.jsonl`, append-only and hash-chained, each
 * append fsync'd before it is acknowledged. Reads are incremental (only new bytes are parsed), so
 * an append costs the same at event 10 and event 10,000.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  GENESIS_HASH,
  makeEvent,
  parseLog,
  serializeEvent,
  sha256Hex,
  type ParsedLog,
  type StoredEvent,
} from './event-log.js';
import { isStale, readLockFile, releaseLock, removeStaleLock, tryCreateLock, withFileLock } from './file-lock.js';
import {
  JournalBrokenError,
  TaskLockedError,
  TaskExistsError,
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

interface CachedLog {
  events: StoredEvent[];
  validBytes: number;
  size: number;
  mtimeMs: number;
  ino: number;
  tornTail: ParsedLog['tornTail'];
}

const EVENTS = 'events.jsonl';
const SAFE_NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export class LocalTaskStore implements TaskStore {
  readonly backend = 'local' as const;
  readonly location: string;
  private readonly tasksDir: string;
  private readonly cache = new Map<number, CachedLog>();
  /** Serialises this process's own appends per task; the lock file serialises processes. */
  private readonly queues = new Map<number, Promise<unknown>>();

  constructor(readonly stateDir: string) {
    this.location = stateDir;
    this.tasksDir = path.join(stateDir, 'tasks');
  }

  private dir(taskId: number): string {
    return path.join(this.tasksDir, String(assertTaskId(taskId)));
  }

  filePath(taskId: number, name: string): string {
    if (!SAFE_NAME.test(name) || name.split('/').some((p) => p === '.' || p === '..')) {
      throw new Error(`Refusing file name ${JSON.stringify(name)}: only plain relative names are allowed.`);
    }
    return path.join(this.dir(taskId), name);
  }

  async listTaskIds(): Promise<number[]> {
    let names: string[];
    try {
      names = fs.readdirSync(this.tasksDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => /^[1-9]\d{0,8}$/.test(n)).map(Number).sort((a, b) => a - b);
  }

  async createTask(first: NewEvent, requestedId?: number): Promise<{ taskId: number; event: StoredEvent }> {
    fs.mkdirSync(this.tasksDir, { recursive: true });
    const ids = await this.listTaskIds();
    let candidate = requestedId !== undefined ? assertTaskId(requestedId) : (ids.at(-1) ?? 0) + 1;
    for (let attempt = 0; attempt < 1000; attempt++, candidate++) {
      const data = { ...first.data, taskId: candidate };
      const event = makeEvent(null, first.type, data);
      // Build the task in a private directory and rename it into place: the rename either claims
      // the id whole or fails because another process took it, never leaving a half task.
      const staging = path.join(this.tasksDir, `.new-${process.pid}-${randomBytes(4).toString('hex')}`);
      fs.mkdirSync(staging);
      writeDurably(path.join(staging, EVENTS), serializeEvent(event));
      try {
        fs.renameSync(staging, path.join(this.tasksDir, String(candidate)));
      } catch (err) {
        fs.rmSync(staging, { recursive: true, force: true });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') {
          if (requestedId !== undefined) throw new TaskExistsError(requestedId);
          continue;
        }
        throw err;
      }
      fsyncDir(this.tasksDir);
      return { taskId: candidate, event };
    }
    throw new Error('Could not allocate a task id after 1000 attempts.');
  }

  async load(taskId: number): Promise<TaskLog> {
    const cached = this.sync(taskId);
    return this.toLog(taskId, cached);
  }

  async append(taskId: number, event: NewEvent): Promise<StoredEvent> {
    const { appended } = await this.transact(taskId, () => ({ append: [event], result: null }));
    return appended[0];
  }

  async transact<T>(taskId: number, decide: Decide<T>): Promise<{ appended: StoredEvent[]; result: T }> {
    const id = assertTaskId(taskId);
    const previous = this.queues.get(id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() =>
      withFileLock(path.join(this.dir(id), 'events.lock'), async () => {
        let cached = this.sync(id);
        if (cached.tornTail) cached = this.dropTornTail(id, cached);
        const { append, result } = await decide(this.toLog(id, cached));
        const appended = this.writeEvents(id, cached, append);
        return { appended, result };
      }),
    );
    this.queues.set(id, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(id) === run) this.queues.delete(id);
    }
  }

  async verify(taskId: number): Promise<VerifyReport> {
    const file = path.join(this.dir(taskId), EVENTS);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TaskNotFoundError(taskId);
      throw err;
    }
    const parsed = parseLog(buf);
    return {
      taskId,
      ok: !parsed.problem,
      events: parsed.events.length,
      head: parsed.events.at(-1)?.hash ?? null,
      problem: parsed.problem,
      tornTail: parsed.tornTail,
    };
  }

  async repair(taskId: number, actor: string): Promise<RepairReport> {
    const id = assertTaskId(taskId);
    return withFileLock(path.join(this.dir(id), 'events.lock'), () => {
      const file = path.join(this.dir(id), EVENTS);
      const buf = fs.readFileSync(file);
      const parsed = parseLog(buf);
      if (!parsed.problem && !parsed.tornTail) {
        return { taskId: id, keptEvents: parsed.events.length, quarantinedBytes: 0, quarantinePath: null, event: null };
      }
      const rest = buf.subarray(parsed.validBytes);
      const quarantineName = `events.quarantine-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
      const quarantinePath = path.join(this.dir(id), quarantineName);
      writeDurably(quarantinePath, rest);
      truncateDurably(file, parsed.validBytes);
      this.cache.delete(id);
      const cached = this.sync(id);
      const [event] = this.writeEvents(id, cached, [
        {
          type: 'log.repaired',
          data: {
            actor,
            problem: parsed.problem ?? { kind: 'torn-tail', message: 'unterminated last line' },
            keptEvents: parsed.events.length,
            quarantinedBytes: rest.length,
            quarantineFile: quarantineName,
            quarantineSha256: sha256Hex(rest),
          },
        },
      ]);
      return { taskId: id, keptEvents: parsed.events.length, quarantinedBytes: rest.length, quarantinePath, event };
    });
  }

  async acquireLock(taskId: number, owner: LockOwner): Promise<() => Promise<void>> {
    const file = path.join(this.dir(taskId), 'operation.lock');
    if (!fs.existsSync(path.join(this.dir(taskId), EVENTS))) throw new TaskNotFoundError(taskId);
    const content = { ...owner };
    for (let attempt = 0; attempt < 5; attempt++) {
      if (tryCreateLock(file, content)) {
        return async () => releaseLock(file, content);
      }
      const holder = readLockFile(file);
      if (!holder) continue;
      let since: number | undefined;
      try {
        since = fs.statSync(file).mtimeMs;
      } catch {
        continue;
      }
      if (isStale(holder, undefined, since)) {
        removeStaleLock(file, holder);
        continue;
      }
      throw new TaskLockedError(taskId, holder as unknown as LockOwner);
    }
    throw new Error(`Could not take the operation lock of task ${taskId}; try again.`);
  }

  async lockHolder(taskId: number): Promise<LockOwner | null> {
    const file = path.join(this.dir(taskId), 'operation.lock');
    const holder = readLockFile(file);
    if (!holder || holder.incomplete || isStale(holder)) return null;
    return holder as unknown as LockOwner;
  }

  async forceUnlock(taskId: number, actor: string, reason?: string): Promise<ForceUnlockReport> {
    const dir = this.dir(taskId);
    if (!fs.existsSync(path.join(dir, EVENTS))) throw new TaskNotFoundError(taskId);
    const file = path.join(dir, 'operation.lock');
    // Move the lock aside before reading it: what is journaled is exactly what was removed.
    const aside = `${file}.forced-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { taskId, released: null, event: null };
      throw err;
    }
    const holder = readLockFile(aside);
    fs.rmSync(aside, { force: true });
    if (!holder) return { taskId, released: null, event: null };
    const event = await this.append(taskId, {
      type: 'lock.force-released',
      data: { holder, stale: isStale(holder), forcedBy: actor, reason },
    });
    return { taskId, released: holder as unknown as LockOwner, event };
  }

  async withCreateLock<T>(fn: () => Promise<T>): Promise<T> {
    fs.mkdirSync(this.tasksDir, { recursive: true });
    return withFileLock(path.join(this.tasksDir, '.create.lock'), fn);
  }

  async writeFile(taskId: number, name: string, content: string | Buffer): Promise<string> {
    const target = this.filePath(taskId, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    writeDurably(tmp, content);
    fs.renameSync(tmp, target);
    return target;
  }

  async readFile(taskId: number, name: string): Promise<string | null> {
    try {
      return fs.readFileSync(this.filePath(taskId, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async appendAudit(event: NewEvent): Promise<void> {
    fs.mkdirSync(this.stateDir, { recursive: true });
    const file = path.join(this.stateDir, 'audit.jsonl');
    await withFileLock(`${file}.lock`, () => {
      let head: { seq: number; hash: string } | null = null;
      try {
        const parsed = parseLog(fs.readFileSync(file));
        const last = parsed.events.at(-1);
        if (last) head = { seq: last.seq, hash: last.hash };
        if (parsed.tornTail || parsed.problem) truncateDurably(file, parsed.validBytes);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      appendDurably(file, Buffer.from(serializeEvent(makeEvent(head, event.type, event.data)), "utf8"));
    });
  }

  // ---- internals -------------------------------------------------------------------------

  private toLog(taskId: number, cached: CachedLog): TaskLog {
    const last = cached.events.at(-1);
    return { taskId, events: cached.events, head: last ? { seq: last.seq, hash: last.hash } : null };
  }

  /** Brings the cache up to date with the file, reading only what was appended since. */
  private sync(taskId: number): CachedLog {
    const file = path.join(this.dir(taskId), EVENTS);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.cache.delete(taskId);
        throw new TaskNotFoundError(taskId);
      }
      throw new JournalBrokenError(taskId, { kind: 'unreadable', message: (err as Error).message });
    }
    const cached = this.cache.get(taskId);
    if (cached && cached.ino === stat.ino && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs) {
      return cached;
    }
    if (cached && cached.ino === stat.ino && stat.size > cached.validBytes && cached.size <= stat.size) {
      const delta = readRange(file, cached.validBytes, stat.size - cached.validBytes);
      const last = cached.events.at(-1);
      const parsed = parseLog(delta, last ? { seq: last.seq, hash: last.hash } : null, cached.events.length + 1, cached.validBytes);
      if (!parsed.problem) {
        // Appending to the same array keeps readers' references cheap and current.
        if (parsed.events.length) cached.events.push(...parsed.events);
        const next: CachedLog = {
          events: cached.events,
          validBytes: cached.validBytes + parsed.validBytes,
          size: stat.size,
          mtimeMs: stat.mtimeMs,
          ino: stat.ino,
          tornTail: parsed.tornTail,
        };
        this.cache.set(taskId, next);
        return next;
      }
      // Fall through: a full read reports the problem at the right line.
    }
    const buf = fs.readFileSync(file);
    const parsed = parseLog(buf);
    if (parsed.problem) {
      this.cache.delete(taskId);
      throw new JournalBrokenError(taskId, parsed.problem);
    }
    const fresh: CachedLog = {
      events: parsed.events,
      validBytes: parsed.validBytes,
      size: buf.length,
      mtimeMs: stat.mtimeMs,
      ino: stat.ino,
      tornTail: parsed.tornTail,
    };
    this.cache.set(taskId, fresh);
    return fresh;
  }

  /** Called under the append lock, so the unterminated tail is a dead writer's, not a live one's. */
  private dropTornTail(taskId: number, cached: CachedLog): CachedLog {
    const file = path.join(this.dir(taskId), EVENTS);
    const torn = cached.tornTail!;
    const bytes = readRange(file, torn.byteOffset, torn.bytes);
    const savedAs = `events.torn-${new Date().toISOString().replace(/[:.]/g, '-')}.bin`;
    writeDurably(path.join(this.dir(taskId), savedAs), bytes);
    truncateDurably(file, cached.validBytes);
    const stat = fs.statSync(file);
    const fixed: CachedLog = { ...cached, size: stat.size, mtimeMs: stat.mtimeMs, tornTail: null };
    this.cache.set(taskId, fixed);
    const [event] = this.writeEvents(taskId, fixed, [
      {
        type: 'log.torn-tail-dropped',
        data: {
          bytes: torn.bytes,
          byteOffset: torn.byteOffset,
          savedAs,
          note: 'An append that never completed (the writer stopped mid-write) was cut off. It was never acknowledged.',
        },
      },
    ]);
    void event;
    return this.cache.get(taskId)!;
  }

  private writeEvents(taskId: number, cached: CachedLog, events: NewEvent[]): StoredEvent[] {
    if (events.length === 0) return [];
    const file = path.join(this.dir(taskId), EVENTS);
    let head = cached.events.at(-1) ?? null;
    const made: StoredEvent[] = [];
    let text = '';
    for (const e of events) {
      const ev = makeEvent(head ? { seq: head.seq, hash: head.hash } : null, e.type, e.data);
      made.push(ev);
      text += serializeEvent(ev);
      head = ev;
    }
    const bytes = Buffer.from(text, 'utf8');
    const stat = appendDurably(file, bytes);
    cached.events.push(...made);
    const next: CachedLog = {
      events: cached.events,
      validBytes: cached.validBytes + bytes.length,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      ino: stat.ino,
      tornTail: null,
    };
    this.cache.set(taskId, next);
    return made;
  }
}

function readRange(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = fs.readSync(fd, buf, read, length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/** One write() of the whole batch, then fdatasync: acknowledged means on disk. */
function appendDurably(file: string, bytes: Buffer): fs.Stats {
  const fd = fs.openSync(file, 'a', 0o644);
  try {
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written);
    fs.fdatasyncSync(fd);
    return fs.fstatSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function writeDurably(file: string, content: string | Buffer): void {
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function truncateDurably(file: string, length: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported on every platform; the rename is still atomic */
  }
}

export function lockOwner(operation: string, instance: string): LockOwner {
  let user: string | undefined;
  try {
    user = os.userInfo().username;
  } catch {
    user = undefined;
  }
  return { pid: process.pid, host: os.hostname(), instance, operation, since: new Date().toISOString(), user };
}

export { GENESIS_HASH };
