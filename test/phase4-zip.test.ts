/**
 * The reproducible zip writer: same content → same bytes (whatever mtimes, creation order or
 * umask), and an archive other tools read back exactly (Python's zipfile, as Lambda's runtime does).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeSha256, zipDirectory, zipEntries } from '../src/deploy/zip.js';

function tree(files: [string, string | Buffer, number?][]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-test-'));
  for (const [name, content, mode] of files) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    if (mode !== undefined) fs.chmodSync(file, mode);
  }
  return dir;
}

const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
const FILES: [string, string | Buffer, number?][] = [
  ['handler.py', 'def handler(event, context):\n    return {"ok": True}\n'.repeat(20)],
  ['pkg/__init__.py', ''],
  ['pkg/model.bin', random],
  ['bin/run.sh', '#!/bin/sh\necho hi\n', 0o755],
  ['a b/ünïcode.txt', 'names with spaces and UTF-8\n'],
];

describe('zipDirectory', () => {
  it('gives identical bytes for the same content regardless of order, mtimes and permissions bits beyond x', () => {
    const a = tree(FILES);
    const b = tree([...FILES].reverse().map(([n, c, m]) => [n, c, m === undefined ? 0o600 : 0o700] as [string, string | Buffer, number]));
    const old = new Date('2001-02-03T04:05:06Z');
    for (const [name] of FILES) fs.utimesSync(path.join(b, name), old, old);
    const za = zipDirectory(a);
    const zb = zipDirectory(b);
    expect(za.files).toBe(FILES.length);
    expect(codeSha256(za.zip)).toBe(codeSha256(zb.zip));
    expect(za.zip.equals(zb.zip)).toBe(true);

    fs.appendFileSync(path.join(b, 'handler.py'), '# changed\n');
    expect(codeSha256(zipDirectory(b).zip)).not.toBe(codeSha256(za.zip));
  });

  it('writes an archive Python reads back byte for byte, with sorted entries and the executable bit', () => {
    const dir = tree(FILES);
    const zipFile = path.join(dir, '..', `${path.basename(dir)}.zip`);
    fs.writeFileSync(zipFile, zipDirectory(dir).zip);
    const py = spawnSync(
      'python3',
      [
        '-c',
        `import zipfile, hashlib, json, sys
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps([[i.filename, hashlib.sha256(z.read(i)).hexdigest(), (i.external_attr >> 16) & 0o777, i.date_time[0]] for i in z.infolist()]))`,
        zipFile,
      ],
      { encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    const entries = JSON.parse(py.stdout) as [string, string, number, number][];
    const sha = (c: string | Buffer) => createHash('sha256').update(c).digest('hex');
    const expected = [...FILES].sort((x, y) => (x[0] < y[0] ? -1 : 1));
    expect(entries.map((e) => e[0])).toEqual(expected.map((f) => f[0]));
    expect(entries.map((e) => e[1])).toEqual(expected.map((f) => sha(f[1])));
    expect(entries.find((e) => e[0] === 'bin/run.sh')![2]).toBe(0o755);
    expect(entries.find((e) => e[0] === 'handler.py')![2]).toBe(0o644);
    expect(new Set(entries.map((e) => e[3]))).toEqual(new Set([1980]));
  });

  it('refuses links that leave the directory, and empty directories', () => {
    const dir = tree([['ok.py', 'x = 1\n']]);
    fs.symlinkSync('/etc/hostname', path.join(dir, 'escape'));
    expect(() => zipDirectory(dir)).toThrow(/outside the directory/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-empty-'));
    expect(() => zipDirectory(empty)).toThrow(/no files/);
    expect(() => zipEntries([{ path: '../x', data: Buffer.from('') }])).toThrow(/not a relative path/);
  });
});
