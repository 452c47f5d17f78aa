/**
 * What is specific to the local task store's file format: the bytes of events.jsonl, durability
 * under kill -9, torn tails, edits a running store must notice, several processes appending to
 * one file. Interface-level behaviour (chain, incremental loads, transact, the lock protocol,
 * tamper evidence, repair) is in store-conformance.test.ts, run against every backend.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTaskStore } from '../src/state/local-store.js';
import { JournalBrokenError } from '../src/state/task-store.js';
import { canonicalJson, computeEventHash } from '../src/state/event-log.js';

const WRITER = path.resolve(__dirname, 'fixtures/append-writer.mjs');
const DIST = path.resolve(__dirname, '../dist/src/state/local-store.js');

function tempStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-store-'));
  return { dir, store: new LocalTaskStore(dir) };
}

async function newTask(store: LocalTaskStore) {
  return (await store.createTask({ type: 'task.started', data: { title: 't', environment: 'e', component: 'c', branch: 'b' } })).taskId;
}

function runWriter(dir: string, taskId: number, count: number, tag: string, pad = 0) {
  const child = spawn(process.execPath, [WRITER, dir, String(taskId), String(count), tag, String(pad)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const acked = () =>
    out
      .split('\n')
      .filter((l) => /^\d+ \S+ \d+$/.test(l))
      .map((l) => {
        const [seq, t, i] = l.split(' ');
        return { seq: Number(seq), tag: t, i: Number(i) };
      });
  return { child, done, acked, stderr: () => err };
}

describe('event log format', () => {
  it('hashes the canonical event and chains each line to the one before', async () => {
    const { dir, store } = tempStore();
    const taskId = await newTask(store);
    await store.append(taskId, { type: 'a', data: { z: 1, a: [1, 2] } });
    await store.append(taskId, { type: 'b', data: {} });
    const lines = fs.readFileSync(path.join(dir, 'tasks', String(taskId), 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(lines[0].prev).toBe('0'.repeat(64));
    expect(lines[1].prev).toBe(lines[0].hash);
    for (const l of lines) expect(l.hash).toBe(computeEventHash(l));
    expect(canonicalJson({ b: 1, a: { d: 2, c: 1 } })).toBe('{"a":{"c":1,"d":2},"b":1}');
  });

});

describe('crash safety', () => {
  it('survives kill -9 of writers mid-append: the log loads and no acknowledged event is lost', async () => {
    expect(fs.existsSync(DIST), 'run `npm run build` first (npm test does)').toBe(true);
    const { dir, store } = tempStore();
    const taskId = await newTask(store);
    const acked: { seq: number; tag: string; i: number }[] = [];
    const rounds = 25;
    for (let round = 0; round < rounds; round++) {
      const w = runWriter(dir, taskId, 1_000_000, `r${round}`, (round % 5) * 20_000);
      await new Promise((r) => setTimeout(r, 150 + ((round * 37) % 250)));
      w.child.kill('SIGKILL');
      const { signal } = await w.done;
      expect(signal).toBe('SIGKILL');
      acked.push(...w.acked());
      // Every round, a fresh reader must load what the killed writer left.
      const reader = new LocalTaskStore(dir);
      await reader.transact(taskId, () => ({ append: [], result: null }));
      const log = await reader.load(taskId);
      expect(log.events.length).toBeGreaterThan(0);
    }
    const final = new LocalTaskStore(dir);
    const report = await final.verify(taskId);
    expect(report.ok).toBe(true);
    const events = (await final.load(taskId)).events;
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    for (const a of acked) {
      const e = bySeq.get(a.seq);
      expect(e, `acknowledged seq ${a.seq} lost`).toBeTruthy();
      expect(e!.data).toMatchObject({ tag: a.tag, i: a.i });
    }
    console.log(`crash test: ${rounds} kill -9 rounds, ${acked.length} acknowledged appends, ${events.length} events on disk, all acknowledged present`);
    expect(acked.length).toBeGreaterThan(rounds);
  }, 120_000);

  it('drops an unterminated last line (a torn write), keeps it aside and records that it did', async () => {
    const { dir, store } = tempStore();
    const taskId = await newTask(store);
    await store.append(taskId, { type: 'x', data: { i: 1 } });
    const file = path.join(dir, 'tasks', String(taskId), 'events.jsonl');
    fs.appendFileSync(file, '{"seq":3,"ts":"2026-12-01T00:00:00.000Z","type":"x","da');
    const fresh = new LocalTaskStore(dir);
    const before = await fresh.verify(taskId);
    expect(before.ok).toBe(true);
    expect(before.tornTail?.bytes).toBeGreaterThan(10);
    // Loading without the lock never merges the torn bytes.
    expect((await fresh.load(taskId)).events.length).toBe(2);
    const e = await fresh.append(taskId, { type: 'y', data: {} });
    const events = (await fresh.load(taskId)).events;
    expect(events.map((x) => x.type)).toEqual(['task.started', 'x', 'log.torn-tail-dropped', 'y']);
    expect(e.seq).toBe(4);
    const saved = fs.readdirSync(path.dirname(file)).find((f) => f.startsWith('events.torn-'));
    expect(fs.readFileSync(path.join(path.dirname(file), saved!), 'utf8')).toContain('"da');
    expect((await fresh.verify(taskId)).ok).toBe(true);
  });
});

describe('tamper evidence', () => {
  async function logWith(n: number) {
    const { dir, store } = tempStore();
    const taskId = await newTask(store);
    for (let i = 0; i < n; i++) await store.append(taskId, { type: 'x', data: { i, note: `entry ${i}` } });
    const file = path.join(dir, 'tasks', String(taskId), 'events.jsonl');
    return { dir, store, taskId, file, lines: fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) };
  }

  it('reordered lines are named', async () => {
    const { dir, taskId, file, lines } = await logWith(5);
    [lines[3], lines[4]] = [lines[4], lines[3]];
    fs.writeFileSync(file, lines.join('\n') + '\n');
    expect(await new LocalTaskStore(dir).verify(taskId)).toMatchObject({ ok: false, problem: { line: 4, kind: 'seq-gap' } });
  });

  it('a running store notices an in-place edit of the same length', async () => {
    const { store, taskId, file } = await logWith(5);
    await store.load(taskId);
    const text = fs.readFileSync(file, 'utf8').replace('entry 2', 'entry 7');
    await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(file, text);
    await expect(store.load(taskId)).rejects.toBeInstanceOf(JournalBrokenError);
  });
});

describe('several processes on one task', () => {
  it('interleave whole events: no lost, duplicated or interleaved writes', async () => {
    const { dir, store } = tempStore();
    const taskId = await newTask(store);
    const writers = ['a', 'b', 'c'].map((tag) => runWriter(dir, taskId, 200, tag, 100));
    const results = await Promise.all(writers.map((w) => w.done));
    for (const [i, r] of results.entries()) expect(r.code, writers[i].stderr()).toBe(0);
    const fresh = new LocalTaskStore(dir);
    expect((await fresh.verify(taskId)).ok).toBe(true);
    const events = (await fresh.load(taskId)).events.filter((e) => e.type === 'test.append');
    expect(events.length).toBe(600);
    for (const tag of ['a', 'b', 'c']) {
      expect(events.filter((e) => e.data.tag === tag).map((e) => e.data.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    }
  }, 60_000);
});
