/**
 * Where task state lives. Tools and the workflow see only this interface, so that the local
 * store (one machine) and an S3 store (a team) are interchangeable.
 */
import type { ChainProblem, StoredEvent } from './event-log.js';

export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface LockOwner {
  pid: number;
  host: string;
  /** Identifies one server process, so a lock can be told from its holder's other locks. */
  instance: string;
  operation: string;
  since: string;
  user?: string;
}

export interface TaskLog {
  taskId: number;
  events: readonly StoredEvent[];
  head: { seq: number; hash: string } | null;
}

export interface VerifyReport {
  taskId: number;
  ok: boolean;
  events: number;
  head: string | null;
  problem: ChainProblem | null;
  tornTail: { byteOffset: number; bytes: number } | null;
}

export interface RepairReport {
  taskId: number;
  keptEvents: number;
  quarantinedBytes: number;
  quarantinePath: string | null;
  event: StoredEvent | null;
}

export interface ForceUnlockReport {
  taskId: number;
  /** Who held the operation lock, or null when nobody did (nothing was recorded then). */
  released: LockOwner | null;
  /** The `lock.force-released` event that journals who forced it. */
  event: StoredEvent | null;
}

/** The task's event log cannot be trusted: the guard refuses every task tool (fail closed). */
export class JournalBrokenError extends Error {
  constructor(
    readonly taskId: number,
    readonly problem: ChainProblem | { kind: 'unreadable'; message: string; line?: number },
  ) {
    super(`The event log of task ${taskId} failed verification: ${problem.message}.`);
    this.name = 'JournalBrokenError';
  }
}

export class TaskLockedError extends Error {
  constructor(
    readonly taskId: number,
    readonly holder: LockOwner,
  ) {
    super(
      `Task ${taskId} is locked by ${holder.operation} (pid ${holder.pid} on ${holder.host}${holder.user ? `, ${holder.user}` : ''}) since ${holder.since}.`,
    );
    this.name = 'TaskLockedError';
  }
}

export class TaskExistsError extends Error {
  constructor(readonly taskId: number) {
    super(`Task ${taskId} already exists.`);
    this.name = 'TaskExistsError';
  }
}

export class TaskNotFoundError extends Error {
  constructor(readonly taskId: number) {
    super(`There is no task ${taskId}.`);
    this.name = 'TaskNotFoundError';
  }
}

/** Decides, from the up-to-date log and under the task's append lock, what to append. */
export type Decide<T> = (log: TaskLog) => { append: NewEvent[]; result: T } | Promise<{ append: NewEvent[]; result: T }>;

export interface TaskStore {
  readonly backend: 'local' | 's3';
  /** Human-readable location (a directory or an s3:// URL). */
  readonly location: string;

  listTaskIds(): Promise<number[]>;
  /**
   * Allocates the next free id (or exactly `requestedId`) and writes the task's first event,
   * atomically. Throws TaskExistsError when `requestedId` is taken.
   */
  createTask(first: NewEvent, requestedId?: number): Promise<{ taskId: number; event: StoredEvent }>;
  /** The verified log, read incrementally. Throws JournalBrokenError or TaskNotFoundError. */
  load(taskId: number): Promise<TaskLog>;
  /**
   * Read-decide-append under the task's append lock: `decide` sees every event any process has
   * appended, and what it returns is appended durably (fsync) before this resolves.
   * A backend with optimistic concurrency (S3) may call `decide` again, on the newer log, when
   * another writer won: `decide` must be a pure function of the log it is given.
   */
  transact<T>(taskId: number, decide: Decide<T>): Promise<{ appended: StoredEvent[]; result: T }>;
  append(taskId: number, event: NewEvent): Promise<StoredEvent>;
  /** Full verification from scratch, ignoring caches. */
  verify(taskId: number): Promise<VerifyReport>;
  /** Cuts the log at the first bad line, keeps the rest aside, and records the repair. */
  repair(taskId: number, actor: string): Promise<RepairReport>;

  /** Exclusive lock for one mutating operation on a task. Throws TaskLockedError. */
  acquireLock(taskId: number, owner: LockOwner): Promise<() => Promise<void>>;
  lockHolder(taskId: number): Promise<LockOwner | null>;
  /**
   * Releases the operation lock whoever holds it (`deploy-mcp unlock`), and journals a
   * `lock.force-released` event naming the holder and `actor`.
   */
  forceUnlock?(taskId: number, actor: string, reason?: string): Promise<ForceUnlockReport>;

  /** Serialises a check-then-create across processes (one open task per environment + component). */
  withCreateLock<T>(fn: () => Promise<T>): Promise<T>;

  /** Derived files next to the log (journal.md, report.md, backups/…), written atomically. */
  writeFile(taskId: number, name: string, content: string | Buffer): Promise<string>;
  readFile(taskId: number, name: string): Promise<string | null>;
  filePath(taskId: number, name: string): string;

  /** Audit trail for refusals that concern no task. */
  appendAudit(event: NewEvent): Promise<void>;

  /** Finishes background writes and releases connections (stores that have any). */
  close?(): Promise<void>;
}

/** Task ids are positive integers: anything else never reaches a path. */
export function assertTaskId(value: unknown): number {
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 999_999_999) {
    throw new Error(`Invalid task id ${JSON.stringify(value)}: task ids are positive integers.`);
  }
  return n;
}
