/**
 * A reproducible zip writer: the same files give the same bytes, whatever the checkout time,
 * the file system's order or the umask. Entries are sorted by path, every timestamp is the DOS
 * epoch (1980-01-01 00:00), modes are normalised to 0644 / 0755 and the compression level is
 * fixed. That makes the CodeSha256 Lambda computes a function of the content alone, so an
 * unchanged directory deploys as "unchanged" instead of as a new version. (Deflate output is
 * fixed for a given zlib; another Node/zlib version may compress differently, which costs at most
 * one extra published version, never a wrong one.)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, `/`-separated, relative. */
  path: string;
  data: Buffer;
  executable?: boolean;
}

/** DOS date for 1980-01-01: ((1980-1980) << 9) | (1 << 5) | 1. */
const DOS_DATE = (1 << 5) | 1;
const DOS_TIME = 0;
/** "Made by" Unix (3) so the external attributes carry file modes; spec version 2.0. */
const MADE_BY = (3 << 8) | 20;
const MAX_ZIP32 = 0xffffffff;
const MAX_ENTRIES = 0xffff;

export function zipEntries(input: readonly ZipEntry[]): Buffer {
  const entries = [...input].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (entries.length > MAX_ENTRIES) throw new Error(`Too many files for a zip without Zip64 (${entries.length}; the limit is ${MAX_ENTRIES}).`);
  const seen = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = normaliseEntryPath(entry.path);
    if (seen.has(name)) throw new Error(`The archive would contain "${name}" twice.`);
    seen.add(name);
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(entry.data) >>> 0;
    const deflated = deflateRawSync(entry.data, { level: 9 });
    // Store when deflate does not help (already-compressed files): smaller and still deterministic.
    const method = deflated.length < entry.data.length ? 8 : 0;
    const body = method === 8 ? deflated : entry.data;
    if (entry.data.length >= MAX_ZIP32 || offset + 30 + nameBytes.length + body.length >= MAX_ZIP32) {
      throw new Error('The archive would exceed 4 GiB, which needs Zip64; Lambda accepts at most 250 MB unzipped anyway.');
    }

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28); // no extra field (no extended timestamps)

    const mode = entry.executable ? 0o100755 : 0o100644;
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);

    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, directory, end]);
}

function normaliseEntryPath(p: string): string {
  const name = p.split(path.sep).join('/').replace(/^\.\/+/, '');
  if (!name || name.startsWith('/') || name.split('/').some((part) => part === '..' || part === '')) {
    throw new Error(`"${p}" is not a relative path inside the archive.`);
  }
  return name;
}

export interface DirectoryZip {
  zip: Buffer;
  files: number;
  /** Bytes before compression. */
  bytes: number;
}

/**
 * Zips the files under `dir` (recursively). Symbolic links are followed only when they stay
 * inside `dir`; anything else (sockets, devices, links leading out) is refused with its path.
 */
export function zipDirectory(dir: string): DirectoryZip {
  const root = fs.realpathSync(dir);
  if (!fs.statSync(root).isDirectory()) throw new Error(`${dir} is not a directory.`);
  const entries: ZipEntry[] = [];
  let bytes = 0;
  const visited = new Set<string>();
  const walk = (current: string): void => {
    const real = fs.realpathSync(current);
    if (visited.has(real)) throw new Error(`${path.relative(root, current) || '.'} links back to a directory already zipped (a symbolic link loop).`);
    visited.add(real);
    for (const name of fs.readdirSync(current).sort()) {
      const full = path.join(current, name);
      const rel = path.relative(root, full);
      let stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) {
        const target = fs.realpathSync(full);
        if (target !== root && !target.startsWith(root + path.sep)) {
          throw new Error(`${rel} is a symbolic link to ${target}, outside the directory being zipped.`);
        }
        stat = fs.statSync(target);
      }
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) {
        const data = fs.readFileSync(full);
        bytes += data.length;
        entries.push({ path: rel, data, executable: (stat.mode & 0o111) !== 0 });
      } else {
        throw new Error(`${rel} is neither a file nor a directory; remove it from the directory before zipping.`);
      }
    }
  };
  walk(root);
  if (entries.length === 0) throw new Error(`${dir} contains no files.`);
  return { zip: zipEntries(entries), files: entries.length, bytes };
}

/** Lambda's CodeSha256: base64 of the SHA-256 of the deployment package. */
export function codeSha256(zip: Buffer): string {
  return createHash('sha256').update(zip).digest('base64');
}
