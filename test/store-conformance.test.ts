/**
 * One conformance suite for every TaskStore backend (after Terraform's backend tests,
 * TestBackendStateLocks): the local directory store and the S3 store against moto run the same
 * cases — the hash chain, incremental loads, transact serialisation, the lock protocol (A locks,
 * B fails, A unlocks, B locks with another id, force-unlock recorded), stale locks, tampering
 * named by verify, repair, torn or half-finished writes. Then the S3 store under real
 * concurrency: 20 writer processes × 50 events on one task, writers killed mid-append, and a
 * writer killed while it holds the operation lock.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, computeEventHash, type StoredEvent } from '../src/state/event-log.js';
import { LocalTaskStore, lockOwner } from '../src/state/local-store.js';
import { S3TaskStore, type S3StoreOptions } from '../src/state/s3-store.js';
import { JournalBrokenError, TaskExistsError, TaskLockedError, TaskNotFoundError, type LockOwner, type TaskStore } from '../src/state/task-store.js';
import { awsTestEnv, createBucket, fixtureClients, motoEndpoint, uniqueName } from './helpers/aws-fixtures.js';
import { startAtomicS3Proxy } from './helpers/atomic-s3-proxy.mjs';

const DIST_S3 = path.resolve(__dirname, '../dist/src/state/s3-store.js');
const S3_WRITER = path.resolve(__dirname, 'fixtures/s3-append-writer.mjs');
const S3_LOCK_HOLDER = path.resolve(__dirname, 'fixtures/s3-lock-holder.mjs');
const CLI = path.resolve(__dirname, '../dist/src/cli.js');

const pad = (seq: number) => String(seq).padStart(12, '0');
const STARTED = { type: 'task.started', data: { title: 't', environment: 'staging', component: 'c', branch: 'b' } };

/** What the suite needs to know about a backend beyond the TaskStore interface. */
interface Backend {
  name: 'local' | 's3';
  /** A new, empty store location. */
  fresh(): Promise<void>;
  /** A store on that location (a new one = another process's view). */
  open(): TaskStore;
  /** Where event `seq` lives, as verify names it. */
  where(taskId: number, seq: number): string;
  /** Rewrites event `seq` in storage without re-chaining. */
  tamper(taskId: number, seq: number, change: (e: StoredEvent) => void): Promise<void>;
  /** Removes event `seq` from storage. */
  remove(taskId: number, seq: number): Promise<void>;
  /** Leaves behind what a writer killed mid-write leaves, and says what a reader should see. */
  halfWrite(taskId: number): Promise<{ extraEventsAfterRecovery: string[] }>;
  /** Leaves a lock whose holder is gone (for S3: silent past its stale limit). */
  staleLock(taskId: number, owner: LockOwner): Promise<void>;
  /** Lets background writes finish. */
  settle(store: TaskStore): Promise<void>;
  /** Raw stored bytes of a quarantine written by repair. */
  readQuarantine(location: string): Promise<string>;
}

function localBackend(): Backend {
  let dir = '';
  const eventsFile = (taskId: number) => path.join(dir, 'tasks', String(taskId), 'events.jsonl');
  const lines = (taskId: number) => fs.readFileSync(eventsFile(taskId), 'utf8').split('\n').filter(Boolean);
  return {
    name: 'local',
    async fresh() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-conformance-'));
    },
    open: () => new LocalTaskStore(dir),
    where: (_taskId, seq) => `line ${seq}`,
    async tamper(taskId, seq, change) {
      const all = lines(taskId);
      const e = JSON.parse(all[seq - 1]);
      change(e);
      all[seq - 1] = canonicalJson(e);
      fs.writeFileSync(eventsFile(taskId), `${all.join('\n')}\n`);
    },
    async remove(taskId, seq) {
      const all = lines(taskId);
      all.splice(seq - 1, 1);
      fs.writeFileSync(eventsFile(taskId), `${all.join('\n')}\n`);
    },
    async halfWrite(taskId) {
      // A writer killed inside write(): an unterminated last line.
      fs.appendFileSync(eventsFile(taskId), '{"seq":99,"ts":"2026-12-01T00:00:00.000Z","type":"x","da');
      return { extraEventsAfterRecovery: ['log.torn-tail-dropped'] };
    },
    async staleLock(taskId, owner) {
      const dead = spawnSync(process.execPath, ['-e', '0']);
      fs.writeFileSync(path.join(dir, 'tasks', String(taskId), 'operation.lock'), JSON.stringify({ ...owner, pid: dead.pid }));
    },
    async settle() {},
    async readQuarantine(location) {
      return fs.readFileSync(location, 'utf8');
    },
  };
}

function s3Backend(): Backend {
  const bucket = uniqueName('deploy-state');
  let prefix = '';
  const s3 = () => fixtureClients().s3;
  const options = (): S3StoreOptions => ({
    bucket,
    prefix,
    endpoint: motoEndpoint(),
    env: awsTestEnv(motoEndpoint()),
    maxAttempts: 2,
    // A small head tail, so that events spill into their own objects within a few appends.
    maxTailEvents: 4,
    warn: () => undefined,
  });
  const key = (taskId: number, seq: number) => `${prefix}/tasks/${taskId}/events/${pad(seq)}.json`;
  let created = false;
  return {
    name: 's3',
    async fresh() {
      if (!created) {
        await createBucket({ name: bucket });
        created = true;
      }
      prefix = uniqueName('team');
    },
    open: () => new S3TaskStore(options()),
    where: (_taskId, seq) => `events/${pad(seq)}.json`,
    async tamper(taskId, seq, change) {
      const got = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key(taskId, seq) }));
      const e = JSON.parse(await got.Body!.transformToString());
      change(e);
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key(taskId, seq), Body: `${canonicalJson(e)}\n` }));
    },
    async remove(taskId, seq) {
      await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key(taskId, seq) }));
    },
    async halfWrite(taskId) {
      // A spiller killed halfway: some objects of events still in the head exist, no marker.
      const head = JSON.parse(await (await s3().send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/tasks/${taskId}/head.json` }))).Body!.transformToString());
      const e = head.tail[0] as StoredEvent;
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key(taskId, e.seq), Body: `${canonicalJson(e)}\n` }));
      return { extraEventsAfterRecovery: [] };
    },
    async staleLock(taskId, owner) {
      const past = new Date(Date.now() - 60_000).toISOString();
      await s3().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}/tasks/${taskId}/lock.json`,
          Body: JSON.stringify({ format: 'deploy-mcp/s3-lock@1', state: 'held', lockId: 'lk-gone', owner, acquiredAt: past, heartbeatAt: past, staleAfterMs: 300 }),
        }),
      );
      // Both its heartbeat and S3's LastModified must be older than its stale limit.
      await new Promise((r) => setTimeout(r, 400));
    },
    async settle(store) {
      await Promise.all((await store.listTaskIds()).map((id) => (store as S3TaskStore).log(id).settle()));
    },
    async readQuarantine(location) {
      const k = location.replace(`s3://${bucket}/`, '');
      return (await s3().send(new GetObjectCommand({ Bucket: bucket, Key: k }))).Body!.transformToString();
    },
  };
}

async function newTask(store: TaskStore): Promise<number> {
  return (await store.createTask(STARTED)).taskId;
}

describe.each([localBackend(), s3Backend()])('TaskStore conformance: $name', (backend) => {
  let store: TaskStore;
  beforeAll(async () => {
    await backend.fresh();
    store = backend.open();
  });

  describe('the hash chain', () => {
    it('numbers events from 1 and chains each to the hash of the one before', async () => {
      const taskId = await newTask(store);
      for (let i = 0; i < 6; i++) await store.append(taskId, { type: 'x', data: { i, nested: { b: 2, a: [1, 2] } } });
      const log = await backend.open().load(taskId);
      expect(log.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(log.events[0].prev).toBe('0'.repeat(64));
      for (const [i, e] of log.events.entries()) {
        expect(e.hash).toBe(computeEventHash(e));
        if (i > 0) expect(e.prev).toBe(log.events[i - 1].hash);
      }
      expect(log.head).toEqual({ seq: 7, hash: log.events[6].hash });
      expect(log.events[0].data).toMatchObject({ taskId, title: 't' });
      expect(await backend.open().verify(taskId)).toMatchObject({ ok: true, events: 7, head: log.events[6].hash, problem: null });
    });

    it('allocates ids, refuses a taken id, and lists tasks; unknown tasks are not found', async () => {
      const a = await newTask(store);
      const b = await newTask(backend.open());
      expect(b).toBeGreaterThan(a);
      await expect(store.createTask(STARTED, a)).rejects.toBeInstanceOf(TaskExistsError);
      const wanted = 4242;
      expect((await store.createTask(STARTED, wanted)).taskId).toBe(wanted);
      const ids = await backend.open().listTaskIds();
      expect(ids).toEqual(expect.arrayContaining([a, b, wanted]));
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
      await expect(store.load(999_999)).rejects.toBeInstanceOf(TaskNotFoundError);
      await expect(store.verify(999_999)).rejects.toBeInstanceOf(TaskNotFoundError);
      await expect(store.load('../1' as unknown as number)).rejects.toThrow(/positive integers/);
    });

    it('two creators racing for ids get distinct tasks', async () => {
      const [x, y] = [backend.open(), backend.open()];
      const ids = await Promise.all([...Array.from({ length: 3 }, () => newTask(x)), ...Array.from({ length: 3 }, () => newTask(y))]);
      expect(new Set(ids).size).toBe(6);
    });

    it('loads incrementally: another instance sees new events, and reloading costs nothing new', async () => {
      const writer = backend.open();
      const reader = backend.open();
      const taskId = await newTask(writer);
      for (let i = 0; i < 30; i++) await writer.append(taskId, { type: 'x', data: { i } });
      const first = await reader.load(taskId);
      expect(first.events.length).toBe(31);
      for (let i = 30; i < 35; i++) await writer.append(taskId, { type: 'x', data: { i } });
      const second = await reader.load(taskId);
      expect(second.events.length).toBe(36);
      expect(second.events.slice(-5).map((e) => e.data.i)).toEqual([30, 31, 32, 33, 34]);
      // The reader's copy grows in place: what it verified before is not read again.
      expect(second.events[0]).toBe(first.events[0]);
    });
  });

  describe('transact', () => {
    it('serialises read-decide-append across instances: every decision saw its exact predecessor', async () => {
      const taskId = await newTask(store);
      const instances = [backend.open(), backend.open(), backend.open()];
      const runs = instances.flatMap((s, w) =>
        Array.from({ length: 6 }, (_, i) =>
          s.transact(taskId, (log) => ({
            append: [
              { type: 'decided', data: { w, i, sawSeq: log.head?.seq ?? 0, part: 1 } },
              { type: 'decided', data: { w, i, sawSeq: log.head?.seq ?? 0, part: 2 } },
            ],
            result: log.head?.seq ?? 0,
          })),
        ),
      );
      const results = await Promise.all(runs);
      const log = await backend.open().load(taskId);
      const decided = log.events.filter((e) => e.type === 'decided');
      expect(decided.length).toBe(36);
      for (const e of decided) {
        // Part 1 follows exactly what decide() saw; part 2 directly follows part 1 (atomic batch).
        const d = e.data as { sawSeq: number; part: number };
        expect(e.seq).toBe(d.sawSeq + d.part);
      }
      for (const r of results) expect(r.appended.map((e) => e.seq)).toEqual([r.result + 1, r.result + 2]);
      expect((await backend.open().verify(taskId)).ok).toBe(true);
    });

    it('appends nothing when decide() says so, and returns its result', async () => {
      const taskId = await newTask(store);
      const r = await store.transact(taskId, (log) => ({ append: [], result: log.events.length }));
      expect(r).toEqual({ appended: [], result: 1 });
      expect((await backend.open().load(taskId)).events.length).toBe(1);
    });
  });

  describe('the operation lock (A locks, B fails, A unlocks, B locks with another id, force-unlock recorded)', () => {
    it('follows the protocol', async () => {
      const taskId = await newTask(store);
      const a = backend.open();
      const b = backend.open();
      const releaseA = await a.acquireLock(taskId, lockOwner('deploy-lambda', 'instance-a'));
      const refused = await b.acquireLock(taskId, lockOwner('run-checks', 'instance-b')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TaskLockedError);
      expect((refused as TaskLockedError).holder).toMatchObject({ instance: 'instance-a', operation: 'deploy-lambda' });
      expect((refused as Error).message).toMatch(/locked by deploy-lambda \(pid \d+ on /);
      expect(await b.lockHolder(taskId)).toMatchObject({ instance: 'instance-a' });

      await releaseA();
      expect(await b.lockHolder(taskId)).toBeNull();
      const releaseB = await b.acquireLock(taskId, lockOwner('run-checks', 'instance-b'));
      expect(await a.lockHolder(taskId)).toMatchObject({ instance: 'instance-b', operation: 'run-checks' });
      // A's late second release must not free B's lock.
      await releaseA();
      expect(await a.lockHolder(taskId)).toMatchObject({ instance: 'instance-b' });

      const forced = await a.forceUnlock!(taskId, 'alice@deploy-box', 'run-checks hung');
      expect(forced.released).toMatchObject({ instance: 'instance-b', operation: 'run-checks' });
      expect(forced.event).toMatchObject({ type: 'lock.force-released', data: { forcedBy: 'alice@deploy-box', reason: 'run-checks hung', holder: { instance: 'instance-b' } } });
      expect(await a.lockHolder(taskId)).toBeNull();
      const last = (await backend.open().load(taskId)).events.at(-1)!;
      expect(last.type).toBe('lock.force-released');

      // C takes the lock; B's release afterwards (its operation finally ending) leaves C's alone.
      const c = backend.open();
      const releaseC = await c.acquireLock(taskId, lockOwner('smoke-test', 'instance-c'));
      await releaseB();
      expect(await a.lockHolder(taskId)).toMatchObject({ instance: 'instance-c' });
      await releaseC();
      expect(await a.lockHolder(taskId)).toBeNull();
      // Nothing held: nothing to force, nothing recorded.
      const none = await a.forceUnlock!(taskId, 'alice@deploy-box');
      expect(none).toMatchObject({ released: null, event: null });
      expect((await backend.open().load(taskId)).events.at(-1)!.seq).toBe(last.seq);
    });

    it('takes over a lock whose holder is gone', async () => {
      const taskId = await newTask(store);
      await backend.staleLock(taskId, { ...lockOwner('deploy-lambda', 'gone'), host: backend.name === 'local' ? os.hostname() : 'vanished-host' });
      expect(await store.lockHolder(taskId)).toBeNull();
      const release = await store.acquireLock(taskId, lockOwner('run-checks', 'me'));
      expect(await backend.open().lockHolder(taskId)).toMatchObject({ instance: 'me' });
      await release();
      if (backend.name === 's3') {
        // Another machine's silent lock is taken over on the record.
        const taken = (await store.load(taskId)).events.find((e) => e.type === 'lock.stale-released');
        expect(taken?.data).toMatchObject({ holder: { host: 'vanished-host', operation: 'deploy-lambda' }, operation: 'run-checks' });
      }
    });

    it('refuses to lock or unlock a task that does not exist', async () => {
      await expect(store.acquireLock(888_888, lockOwner('x', 'y'))).rejects.toBeInstanceOf(TaskNotFoundError);
      await expect(store.forceUnlock!(888_888, 'alice')).rejects.toBeInstanceOf(TaskNotFoundError);
    });
  });

  describe('tamper evidence', () => {
    async function taskWith(n: number) {
      const taskId = await newTask(store);
      for (let i = 0; i < n; i++) await store.append(taskId, { type: 'x', data: { i, note: `entry ${i}` } });
      // Later appends push the events under test out of the S3 head into their own objects.
      for (let i = 0; i < 8; i++) await store.append(taskId, { type: 'filler', data: { i } });
      await backend.settle(store);
      return taskId;
    }

    it('an edited event is named by verify, and loading fails closed', async () => {
      const taskId = await taskWith(5);
      await backend.tamper(taskId, 3, (e) => ((e.data as { note: string }).note = 'entry 9'));
      const report = await backend.open().verify(taskId);
      expect(report).toMatchObject({ ok: false, events: 2, problem: { line: 3, kind: 'hash-mismatch' } });
      expect(report.problem!.message).toContain(backend.where(taskId, 3));
      await expect(backend.open().load(taskId)).rejects.toBeInstanceOf(JournalBrokenError);
      await expect(backend.open().append(taskId, { type: 'y', data: {} })).rejects.toBeInstanceOf(JournalBrokenError);
    });

    it('a deleted event is named', async () => {
      const taskId = await taskWith(5);
      await backend.remove(taskId, 3);
      const report = await backend.open().verify(taskId);
      expect(report).toMatchObject({ ok: false, problem: { line: 3, kind: 'seq-gap' } });
      expect(report.problem!.message).toContain(backend.name === 's3' ? backend.where(taskId, 3) : 'line 3');
    });

    it('a re-hashed forgery of one event still breaks the link to the next', async () => {
      const taskId = await taskWith(5);
      await backend.tamper(taskId, 3, (e) => {
        (e.data as { note: string }).note = 'forged';
        e.hash = computeEventHash(e);
      });
      const report = await backend.open().verify(taskId);
      expect(report).toMatchObject({ ok: false, problem: { line: 4, kind: 'prev-mismatch' } });
      expect(report.problem!.message).toContain(backend.where(taskId, 4));
    });

    it('repair cuts at the first bad event, keeps the rest aside and records the repair', async () => {
      const taskId = await taskWith(5);
      await backend.tamper(taskId, 4, (e) => ((e.data as { note: string }).note = 'entry 8'));
      const fresh = backend.open();
      const repaired = await fresh.repair(taskId, 'alice@host');
      expect(repaired.keptEvents).toBe(3);
      expect(repaired.quarantinePath).toBeTruthy();
      expect(await backend.readQuarantine(repaired.quarantinePath!)).toContain('entry 8');
      const events = (await backend.open().load(taskId)).events;
      expect(events.length).toBe(4);
      expect(events.at(-1)).toMatchObject({ seq: 4, type: 'log.repaired', data: { actor: 'alice@host', keptEvents: 3 } });
      expect(await backend.open().verify(taskId)).toMatchObject({ ok: true, events: 4 });
      // The repaired log takes appends again, from any instance.
      const e = await backend.open().append(taskId, { type: 'after', data: {} });
      expect(e.seq).toBe(5);
      expect((await backend.open().verify(taskId)).ok).toBe(true);
    });
  });

  describe('crashes mid-write', () => {
    it('what a killed writer leaves is recovered on the next append, never merged silently', async () => {
      const taskId = await newTask(store);
      for (let i = 0; i < 6; i++) await store.append(taskId, { type: 'x', data: { i } });
      const expected = await backend.open().load(taskId);
      const { extraEventsAfterRecovery } = await backend.halfWrite(taskId);
      const reader = backend.open();
      expect((await reader.verify(taskId)).ok).toBe(true);
      expect((await reader.load(taskId)).events.map((e) => e.hash)).toEqual(expected.events.map((e) => e.hash));
      const e = await reader.append(taskId, { type: 'after-crash', data: {} });
      for (let i = 0; i < 8; i++) await reader.append(taskId, { type: 'more', data: { i } });
      await backend.settle(reader);
      const types = (await backend.open().load(taskId)).events.map((x) => x.type);
      expect(types.slice(7, 8 + extraEventsAfterRecovery.length)).toEqual([...extraEventsAfterRecovery, 'after-crash']);
      expect(e.seq).toBe(8 + extraEventsAfterRecovery.length);
      expect(await backend.open().verify(taskId)).toMatchObject({ ok: true, events: 16 + extraEventsAfterRecovery.length });
    });
  });

  describe('derived files and the audit trail', () => {
    it('writes and reads files next to the log, and refuses names that escape it', async () => {
      const taskId = await newTask(store);
      const where = await store.writeFile(taskId, 'journal.md', '# Task\n');
      expect(where).toBe(store.filePath(taskId, 'journal.md'));
      await store.writeFile(taskId, 'backups/s3-bucket/data.json', '{"a":1}');
      expect(await backend.open().readFile(taskId, 'journal.md')).toBe('# Task\n');
      expect(await backend.open().readFile(taskId, 'backups/s3-bucket/data.json')).toBe('{"a":1}');
      expect(await store.readFile(taskId, 'missing.md')).toBeNull();
      expect(() => store.filePath(taskId, '../x')).toThrow();
      expect(() => store.filePath(taskId, '/etc/passwd')).toThrow();
      expect(() => store.filePath(taskId, 'a/../../x')).toThrow();
      if (backend.name === 's3') {
        // Log objects are not derived files.
        await expect(store.writeFile(taskId, 'head.json', '{}')).rejects.toThrow(/belongs to the event log/);
        await expect(store.writeFile(taskId, 'events/000000000001.json', '{}')).rejects.toThrow(/belongs to the event log/);
      }
      expect((await backend.open().verify(taskId)).ok).toBe(true);
    });

    it('keeps an audit trail of refusals that concern no task', async () => {
      await store.appendAudit({ type: 'tool.refused', data: { tool: 'x', reason: 'no-task' } });
      await backend.open().appendAudit({ type: 'tool.refused', data: { tool: 'y', reason: 'no-task' } });
    });
  });
});

describe('deploy-mcp unlock', () => {
  for (const backendName of ['local', 's3'] as const) {
    it(`${backendName}: force-releases with --yes and journals who forced it; refuses without a terminal`, async () => {
      expect(fs.existsSync(CLI), 'run `npm run build` first (npm test does)').toBe(true);
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-unlock-'));
      const bucket = uniqueName('unlock-state');
      const config: Record<string, unknown> = { project: 'demo', environments: { staging: { accountId: '123456789012', region: 'us-east-1' } } };
      let store: TaskStore;
      if (backendName === 's3') {
        await createBucket({ name: bucket });
        config.state = { backend: 's3', bucket, prefix: 'team' };
        store = new S3TaskStore({ bucket, prefix: 'team', endpoint: motoEndpoint(), env: awsTestEnv(motoEndpoint()) });
      } else {
        store = new LocalTaskStore(path.join(root, '.deploy-mcp'));
      }
      fs.writeFileSync(path.join(root, 'deploy-mcp.config.json'), JSON.stringify(config));
      const taskId = await newTask(store);
      await store.acquireLock(taskId, lockOwner('deploy-lambda', 'hung-instance'));
      const env = { ...process.env, ...(backendName === 's3' ? awsTestEnv(motoEndpoint()) : {}), NO_COLOR: '1', NODE_NO_WARNINGS: '1' };

      const refused = spawnSync(process.execPath, [CLI, 'unlock', String(taskId), '--project', root], { encoding: 'utf8', env, input: `unlock ${taskId}\n` });
      expect(refused.status, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(/interactive terminal; pass --yes/);
      expect(await store.lockHolder(taskId)).toMatchObject({ instance: 'hung-instance' });

      const forced = spawnSync(process.execPath, [CLI, 'unlock', String(taskId), '--yes', '--project', root], { encoding: 'utf8', env });
      expect(forced.status, forced.stderr).toBe(0);
      expect(forced.stdout).toMatch(/locked by deploy-lambda/);
      expect(forced.stdout).toMatch(/Released\. Journaled as event \d+ \(lock\.force-released by .+@.+\)/);
      expect(await store.lockHolder(taskId)).toBeNull();
      const reader = backendName === 's3' ? new S3TaskStore({ bucket, prefix: 'team', endpoint: motoEndpoint(), env: awsTestEnv(motoEndpoint()) }) : new LocalTaskStore(path.join(root, '.deploy-mcp'));
      const last = (await reader.load(taskId)).events.at(-1)!;
      expect(last).toMatchObject({ type: 'lock.force-released', data: { holder: { instance: 'hung-instance' } } });
      expect(String(last.data.forcedBy)).toMatch(/.+@.+/);
      const journal = await reader.readFile(taskId, 'journal.md');
      expect(journal).toContain('Operation lock force-released');

      const again = spawnSync(process.execPath, [CLI, 'unlock', String(taskId), '--yes', '--project', root], { encoding: 'utf8', env });
      expect(again.status).toBe(0);
      expect(again.stdout).toMatch(/lock is free/);
    }, 60_000);
  }
});

describe('deploy-mcp verify on the S3 store', () => {
  it('reads the objects in order, names the edited one, and repairs with --repair --yes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-verify-s3-'));
    const bucket = uniqueName('verify-state');
    await createBucket({ name: bucket });
    fs.writeFileSync(
      path.join(root, 'deploy-mcp.config.json'),
      JSON.stringify({ project: 'demo', environments: { staging: { accountId: '123456789012', region: 'us-east-1' } }, state: { backend: 's3', bucket, prefix: 'ops' } }),
    );
    const store = new S3TaskStore({ bucket, prefix: 'ops', endpoint: motoEndpoint(), env: awsTestEnv(motoEndpoint()), maxTailEvents: 4 });
    const taskId = await newTask(store);
    for (let i = 0; i < 12; i++) await store.append(taskId, { type: 'x', data: { note: `entry ${i}` } });
    await store.log(taskId).settle();
    const env = { ...process.env, ...awsTestEnv(motoEndpoint()), NO_COLOR: '1', NODE_NO_WARNINGS: '1' };
    const ok = spawnSync(process.execPath, [CLI, 'verify', String(taskId), '--project', root], { encoding: 'utf8', env });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`task ${taskId}: OK — 13 events`));

    const s3 = fixtureClients().s3;
    const key = `ops/tasks/${taskId}/events/${pad(5)}.json`;
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body.replace('entry 3', 'entry 7') }));
    const bad = spawnSync(process.execPath, [CLI, 'verify', String(taskId), '--project', root], { encoding: 'utf8', env });
    expect(bad.status).toBe(3);
    expect(bad.stdout).toContain(`task ${taskId}: BROKEN at event 5: events/000000000005.json (seq 5) was modified after it was written (hash mismatch).`);
    expect(bad.stdout).toContain('4 events before it verify');

    const fixed = spawnSync(process.execPath, [CLI, 'verify', String(taskId), '--repair', '--yes', '--project', root], { encoding: 'utf8', env });
    expect(fixed.status, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/Repaired: kept 4 events; \d+ bytes moved to s3:\/\/.+\/quarantine\/.+\.jsonl\. The repair is recorded as event 5\./);
    const after = spawnSync(process.execPath, [CLI, 'verify', String(taskId), '--project', root], { encoding: 'utf8', env });
    expect(after.stdout).toMatch(/OK — 5 events/);
  }, 60_000);
});

describe('S3 store under concurrency (moto)', () => {
  const bucket = uniqueName('concurrency-state');
  let proxy: { url: string; stats: Record<string, number>; close(): Promise<void> };
  beforeAll(async () => {
    expect(fs.existsSync(DIST_S3), 'run `npm run build` first (npm test does)').toBe(true);
    await createBucket({ name: bucket });
    // moto's conditional writes are not atomic under concurrent requests; S3's are (see the helper).
    proxy = await startAtomicS3Proxy(motoEndpoint());
  });
  afterAll(async () => proxy?.close());

  const storeAt = (prefix: string, extra: Partial<S3StoreOptions> = {}) =>
    new S3TaskStore({ bucket, prefix, endpoint: proxy.url, env: awsTestEnv(proxy.url), warn: () => undefined, ...extra });

  function runWriter(prefix: string, taskId: number, count: number, tag: string, deadlineMs = 300_000) {
    const child = spawn(process.execPath, [S3_WRITER, proxy.url, bucket, prefix, String(taskId), String(count), tag, '0', String(deadlineMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    const lines = () => out.split('\n');
    const acked = () =>
      lines()
        .filter((l) => /^\d+ \S+ \d+$/.test(l))
        .map((l) => {
          const [seq, t, i] = l.split(' ');
          return { seq: Number(seq), tag: t, i: Number(i) };
        });
    const reported = () => lines().filter((l) => l.startsWith('REPORTED '));
    return { child, done, acked, reported, stderr: () => err };
  }

  it('20 writer processes × 50 events on one task: one unbroken chain, nothing lost, every rejected write retried or reported', async () => {
    const prefix = uniqueName('twenty');
    const store = storeAt(prefix);
    const taskId = await newTask(store);
    const before = { ...proxy.stats };
    const started = Date.now();
    const writers = Array.from({ length: 20 }, (_, w) => runWriter(prefix, taskId, 50, `w${w}`));
    const results = await Promise.all(writers.map((w) => w.done));
    const seconds = (Date.now() - started) / 1000;
    const acked = writers.flatMap((w) => w.acked());
    const reported = writers.flatMap((w) => w.reported());
    for (const [i, r] of results.entries()) expect([0, 3], writers[i].stderr()).toContain(r.code);

    const report = await storeAt(prefix).verify(taskId);
    expect(report.ok, JSON.stringify(report.problem)).toBe(true);
    const events = (await storeAt(prefix).load(taskId)).events;
    const appended = events.filter((e) => e.type === 'test.append');
    // Nothing lost: every acknowledged append is in the chain at the seq it was acknowledged with.
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    for (const a of acked) expect(bySeq.get(a.seq)?.data, `acknowledged seq ${a.seq} lost`).toMatchObject({ tag: a.tag, i: a.i });
    expect(new Set(acked.map((a) => a.seq)).size).toBe(acked.length);
    // Nothing invented: the chain holds exactly the acknowledged appends, and every append was
    // either acknowledged or reported as failed (then it is not in the chain).
    expect(appended.length).toBe(acked.length);
    expect(acked.length + reported.length).toBe(1000);
    for (const line of reported) {
      const [, tag, i] = line.split(' ');
      expect(appended.some((e) => e.data.tag === tag && e.data.i === Number(i))).toBe(false);
    }
    // Each writer's own appends are in its order.
    for (let w = 0; w < 20; w++) {
      const mine = appended.filter((e) => e.data.tag === `w${w}`).map((e) => e.data.i as number);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    expect(reported.length, reported.join('\n')).toBe(0);
    const lost = proxy.stats.preconditionFailed - before.preconditionFailed;
    console.log(
      `S3 concurrency: 20 processes × 50 appends in ${seconds.toFixed(1)} s, ${acked.length} acknowledged, ${reported.length} reported, ` +
        `${proxy.stats.requests - before.requests} S3 requests, ${lost} conditional writes lost and retried; chain of ${events.length} events verifies`,
    );
  }, 300_000);

  it('writers killed with SIGKILL mid-append lose nothing they acknowledged, and the chain verifies', async () => {
    const prefix = uniqueName('killed');
    const store = storeAt(prefix);
    const taskId = await newTask(store);
    const acked: { seq: number; tag: string; i: number }[] = [];
    for (let round = 0; round < 6; round++) {
      const ws = [0, 1, 2].map((k) => runWriter(prefix, taskId, 1_000_000, `r${round}k${k}`));
      await new Promise((r) => setTimeout(r, 1_200 + ((round * 373) % 900)));
      for (const w of ws) w.child.kill('SIGKILL');
      for (const w of ws) {
        const { signal } = await w.done;
        expect(signal).toBe('SIGKILL');
        acked.push(...w.acked());
      }
      // After every round, a new process's view loads and verifies.
      expect((await storeAt(prefix).verify(taskId)).ok).toBe(true);
    }
    const events = (await storeAt(prefix).load(taskId)).events;
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    for (const a of acked) expect(bySeq.get(a.seq)?.data, `acknowledged seq ${a.seq} lost`).toMatchObject({ tag: a.tag, i: a.i });
    // Writes that were cut off before their head write won never appear.
    expect(events.filter((e) => e.type === 'test.append').length).toBeGreaterThanOrEqual(acked.length);
    expect(acked.length).toBeGreaterThan(6);
    const after = await storeAt(prefix).append(taskId, { type: 'after', data: {} });
    expect(after.seq).toBe(events.length + 1);
    console.log(`S3 crash test: 6 rounds × 3 writers killed, ${acked.length} acknowledged appends, ${events.length} events, all acknowledged present`);
  }, 120_000);

  it('a writer killed while holding the operation lock: refused while its heartbeat is fresh, then taken over on the record', async () => {
    const prefix = uniqueName('lockkill');
    const store = storeAt(prefix);
    const taskId = await newTask(store);
    const child = spawn(process.execPath, [S3_LOCK_HOLDER, proxy.url, bucket, prefix, String(taskId), '200', '1500'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const holderPid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lock holder did not start: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /LOCKED (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    // Alive and heartbeating: refused, well past its stale limit.
    await new Promise((r) => setTimeout(r, 2_000));
    await expect(store.acquireLock(taskId, lockOwner('run-checks', 'next'))).rejects.toBeInstanceOf(TaskLockedError);
    expect(await store.lockHolder(taskId)).toMatchObject({ pid: holderPid, operation: 'deploy-lambda' });

    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    // Silent now: refused until the stale limit passes, then taken over.
    const killedAt = Date.now();
    let release: (() => Promise<void>) | null = null;
    while (!release && Date.now() - killedAt < 15_000) {
      release = await store.acquireLock(taskId, lockOwner('run-checks', 'next')).catch((e: unknown) => {
        expect(e).toBeInstanceOf(TaskLockedError);
        return null;
      });
      if (!release) await new Promise((r) => setTimeout(r, 250));
    }
    expect(release, 'the dead holder\'s lock was never taken over').toBeTruthy();
    expect(Date.now() - killedAt).toBeGreaterThan(500);
    const taken = (await storeAt(prefix).load(taskId)).events.find((e) => e.type === 'lock.stale-released');
    expect(taken?.data).toMatchObject({ holder: { pid: holderPid, host: 'writer-host', operation: 'deploy-lambda' }, operation: 'run-checks', staleAfterMs: 1500 });
    await release!();
  }, 60_000);

  it('a head write whose response is lost is recognised as ours, not appended twice', async () => {
    const prefix = uniqueName('ambiguous');
    const store = storeAt(prefix, { maxAttempts: 3 });
    const taskId = await newTask(store);
    // The first head write lands, but its answer is a 500: the SDK retries with the same
    // If-Match, gets 412, and the store must find its own event in the chain.
    const { startFaultProxy } = await import('./helpers/fault-proxy.js');
    const faulty = await startFaultProxy(proxy.url);
    let hits = 0;
    faulty.addRule({
      match: (r) => r.method === 'PUT' && r.path.endsWith('/head.json') && !!r.headers['if-match'],
      transform: (_req, res) => (++hits === 1 ? { status: 500, headers: { 'content-type': 'application/xml' }, body: Buffer.from('<Error><Code>InternalError</Code><Message>lost</Message></Error>') } : res),
    });
    const viaFaults = new S3TaskStore({ bucket, prefix, endpoint: faulty.url, env: awsTestEnv(faulty.url), maxAttempts: 3, warn: () => undefined });
    try {
      const e = await viaFaults.append(taskId, { type: 'once', data: {} });
      expect(hits).toBeGreaterThanOrEqual(2);
      const events = (await storeAt(prefix).load(taskId)).events;
      expect(events.filter((x) => x.type === 'once').length).toBe(1);
      expect(events.at(-1)!.hash).toBe(e.hash);
    } finally {
      await faulty.close();
    }
  }, 30_000);

  it('keeps the head small: older events spill into their own objects with a marker', async () => {
    const prefix = uniqueName('spill');
    const store = storeAt(prefix, { maxTailEvents: 8 });
    const taskId = await newTask(store);
    for (let i = 0; i < 40; i++) await store.append(taskId, { type: 'x', data: { i } });
    await store.log(taskId).settle();
    const s3 = fixtureClients(proxy.url).s3;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/tasks/${taskId}/` }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.replace(`${prefix}/tasks/${taskId}/`, ''));
    const head = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/tasks/${taskId}/head.json` }))).Body!.transformToString());
    expect(head.seq).toBe(41);
    expect(head.tail.length).toBeLessThanOrEqual(16);
    const objects = keys.filter((k) => k.startsWith('events/')).length;
    expect(objects + head.tail.length).toBeGreaterThanOrEqual(41);
    expect(keys.some((k) => k.startsWith('spill/'))).toBe(true);
    // Each object is exactly the line the local store would write for that event.
    const third = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/tasks/${taskId}/events/${pad(3)}.json` }))).Body!.transformToString();
    const e = JSON.parse(third);
    expect(third).toBe(`${canonicalJson(e)}\n`);
    expect(e.hash).toBe(computeEventHash(e));
  });
});
