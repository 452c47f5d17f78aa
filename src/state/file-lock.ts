/**
 * Cross-process locks made from files created with O_EXCL. A lock whose holder is a dead process
 * on this host is stale and is taken over; the takeover renames the stale file aside first, so
 * two processes that both saw it stale cannot both remove a fresh lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface LockFileContent {
  pid: number;
  host: string;
  [key: string]: unknown;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLockFile(file: string): LockFileContent | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as LockFileContent;
    return parsed && typeof parsed.pid === 'number' ? parsed : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Empty or half-written: its writer is between create and write, or died there.
    return { pid: -1, host: os.hostname(), incomplete: true };
  }
}

/** True when the holder is known to be gone (same host, process not running). */
export function isStale(holder: LockFileContent, maxAgeMs?: number, since?: number): boolean {
  if (holder.incomplete) {
    // A writer normally fills the file within microseconds; only an old empty file is abandoned.
    return since !== undefined && Date.now() - since > 5_000;
  }
  if (holder.host === os.hostname() && !processAlive(holder.pid)) return true;
  if (maxAgeMs !== undefined && since !== undefined && Date.now() - since > maxAgeMs) return true;
  return false;
}

/** Tries once. Returns true when the lock was created by this call. */
export function tryCreateLock(file: string, content: LockFileContent): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, JSON.stringify(content));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Removes a stale lock, unless someone replaced it since we looked at it. */
export function removeStaleLock(file: string, seen: LockFileContent): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = readLockFile(aside);
  if (moved && (moved.pid !== seen.pid || moved.host !== seen.host)) {
    // We moved a live lock that replaced the stale one: put it back if the slot is still free.
    try {
      fs.linkSync(aside, file);
    } catch {
      /* someone else holds the slot now; the moved holder will notice on release */
    }
  }
  fs.rmSync(aside, { force: true });
}

export function releaseLock(file: string, own: LockFileContent): void {
  const current = readLockFile(file);
  if (current && current.pid === own.pid && current.host === own.host && current.instance === own.instance) {
    fs.rmSync(file, { force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for a short-held lock (appends, creates). Gives up after `timeoutMs` with an error that
 * names the holder.
 */
export async function withFileLock<T>(file: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const own: LockFileContent = { pid: process.pid, host: os.hostname(), instance: randomBytes(6).toString('hex') };
  const start = Date.now();
  let delay = 1;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (;;) {
    if (tryCreateLock(file, own)) break;
    const holder = readLockFile(file);
    if (holder) {
      let since: number | undefined;
      try {
        since = fs.statSync(file).mtimeMs;
      } catch {
        continue;
      }
      // Appends hold this lock for milliseconds; 30 s means its holder hung or died elsewhere.
      if (isStale(holder, 30_000, since)) {
        removeStaleLock(file, holder);
        continue;
      }
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${path.basename(file)} held by pid ${holder?.pid} on ${holder?.host}.`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 25);
  }
  try {
    return await fn();
  } finally {
    releaseLock(file, own);
  }
}
