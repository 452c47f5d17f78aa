/**
 * The hash-chained event log format (SPEC §4), as pure functions over bytes.
 * Each line is `{seq, ts, type, data, prev, hash}` with `hash = sha256(prev + canonical event)`,
 * where the canonical event is the line's `{seq, ts, type, data, prev}` with sorted keys.
 */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface StoredEvent<D = Record<string, unknown>> {
  seq: number;
  ts: string;
  type: string;
  data: D;
  prev: string;
  hash: string;
}

/** JSON with object keys sorted at every level and no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function computeEventHash(e: Omit<StoredEvent, 'hash'>): string {
  return sha256Hex(e.prev + canonicalJson({ seq: e.seq, ts: e.ts, type: e.type, data: e.data, prev: e.prev }));
}

export function makeEvent(
  previous: { seq: number; hash: string } | null,
  type: string,
  data: Record<string, unknown>,
  now: Date = new Date(),
): StoredEvent {
  // Round-trip the data through JSON so that what is hashed is exactly what is stored.
  const cleanData = JSON.parse(JSON.stringify(data ?? {})) as Record<string, unknown>;
  const base = {
    seq: previous ? previous.seq + 1 : 1,
    ts: now.toISOString(),
    type,
    data: cleanData,
    prev: previous ? previous.hash : GENESIS_HASH,
  };
  return { ...base, hash: computeEventHash(base) };
}

export function serializeEvent(e: StoredEvent): string {
  return `${canonicalJson(e)}\n`;
}

export interface ChainProblem {
  /** 1-based line number in the file. */
  line: number;
  byteOffset: number;
  kind: 'unparseable' | 'bad-shape' | 'seq-gap' | 'prev-mismatch' | 'hash-mismatch';
  message: string;
}

export interface ParsedLog {
  events: StoredEvent[];
  /** Bytes of the file that hold verified, newline-terminated events. */
  validBytes: number;
  /** An unterminated last line: a write that never completed (never acknowledged). */
  tornTail: { byteOffset: number; bytes: number } | null;
  /** The first line that breaks the chain, if any. Events after it are not returned. */
  problem: ChainProblem | null;
}

/**
 * Parses and verifies `buf`, which continues a chain whose last event is `after`
 * (null for the start of the file). `firstLine` and `baseOffset` position error reports.
 */
export function parseLog(
  buf: Buffer,
  after: { seq: number; hash: string } | null = null,
  firstLine = 1,
  baseOffset = 0,
): ParsedLog {
  const events: StoredEvent[] = [];
  let prevSeq = after ? after.seq : 0;
  let prevHash = after ? after.hash : GENESIS_HASH;
  let pos = 0;
  let line = firstLine;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl === -1) {
      return { events, validBytes: pos, tornTail: { byteOffset: baseOffset + pos, bytes: buf.length - pos }, problem: null };
    }
    const text = buf.subarray(pos, nl).toString('utf8');
    const fail = (kind: ChainProblem['kind'], message: string): ParsedLog => ({
      events,
      validBytes: pos,
      tornTail: null,
      problem: { line, byteOffset: baseOffset + pos, kind, message },
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail('unparseable', `line ${line} is not valid JSON`);
    }
    if (!isEventShape(parsed)) {
      return fail('bad-shape', `line ${line} is not an event {seq, ts, type, data, prev, hash}`);
    }
    if (parsed.seq !== prevSeq + 1) {
      return fail('seq-gap', `line ${line} has seq ${parsed.seq}, expected ${prevSeq + 1} (a line was deleted, inserted or reordered)`);
    }
    if (parsed.prev !== prevHash) {
      return fail('prev-mismatch', `line ${line} (seq ${parsed.seq}) does not point at the hash of the line before it`);
    }
    const expected = computeEventHash(parsed);
    if (parsed.hash !== expected) {
      return fail('hash-mismatch', `line ${line} (seq ${parsed.seq}) was modified after it was written (hash mismatch)`);
    }
    events.push(parsed);
    prevSeq = parsed.seq;
    prevHash = parsed.hash;
    pos = nl + 1;
    line += 1;
  }
  return { events, validBytes: pos, tornTail: null, problem: null };
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
