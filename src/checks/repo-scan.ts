/**
 * The secrets scan of a repository: every tracked file as it is in the working tree (binaries,
 * symlinks and files over 1 MB skipped), then the lines the deployment branch's commits added
 * since its base — a secret committed and then deleted is still in the history that gets pushed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openRepository, commitExists, patchSince, trackedFiles } from '../git/repository.js';
import type { ConfigFinding } from './config-check.js';
import { isBinary, parseAddedLines, scanAddedLines, scanTextDetailed, type DetailedFinding } from './secrets-scan.js';

export const MAX_SCAN_BYTES = 1024 * 1024;
/** Larger branch histories are scanned up to this many bytes of patch text. */
const MAX_PATCH_BYTES = 64 * 1024 * 1024;

export interface RepositoryScan {
  findings: ConfigFinding[];
  scannedFiles: number;
  skippedFiles: { binary: number; tooLarge: number; unreadable: number; symlinks: number };
  diff: { base: string; commits: number; scannedFiles: number } | null;
}

function abortIfNeeded(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
}

export async function scanRepository(opts: { root: string; baseCommit?: string; signal?: AbortSignal }): Promise<RepositoryScan> {
  const { git, top } = await openRepository(opts.root, { signal: opts.signal });
  const files = await trackedFiles(git);
  const skippedFiles = { binary: 0, tooLarge: 0, unreadable: 0, symlinks: 0 };
  const findings: ConfigFinding[] = [];
  const seen = new Set<string>();
  const keep = (d: DetailedFinding) => {
    seen.add(d.fingerprint);
    findings.push(d.finding);
  };
  let scannedFiles = 0;
  for (const [i, rel] of files.entries()) {
    if (i % 200 === 0) abortIfNeeded(opts.signal);
    const abs = path.join(top, rel);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(abs);
    } catch {
      // Deleted in the working tree but still in the index: nothing to read.
      continue;
    }
    if (stat.isSymbolicLink()) {
      skippedFiles.symlinks++;
      continue;
    }
    if (!stat.isFile()) continue; // submodules
    if (stat.size > MAX_SCAN_BYTES) {
      skippedFiles.tooLarge++;
      continue;
    }
    let content: Buffer;
    try {
      content = fs.readFileSync(abs);
    } catch {
      skippedFiles.unreadable++;
      continue;
    }
    if (isBinary(content)) {
      skippedFiles.binary++;
      continue;
    }
    scannedFiles++;
    for (const d of scanTextDetailed(rel, content.toString('utf8'))) keep(d);
  }

  let diff: RepositoryScan['diff'] = null;
  if (opts.baseCommit) {
    abortIfNeeded(opts.signal);
    if (!(await commitExists(git, opts.baseCommit))) {
      findings.push({
        severity: 'warning',
        kind: 'scan',
        rule: 'diff-base',
        message: `The base commit ${opts.baseCommit.slice(0, 10)} recorded by create-branch is not in this repository any more, so the branch history was not scanned. Run create-branch again if the branch was recreated.`,
      });
    } else {
      const { patch, commits } = await patchSince(git, opts.baseCommit);
      const text = patch.length > MAX_PATCH_BYTES ? patch.slice(0, MAX_PATCH_BYTES) : patch;
      if (text.length < patch.length) {
        findings.push({ severity: 'warning', kind: 'scan', rule: 'diff-size', message: `The branch history since ${opts.baseCommit.slice(0, 10)} is larger than ${MAX_PATCH_BYTES / 1024 / 1024} MB; only its first part was scanned.` });
      }
      const added = parseAddedLines(text);
      for (const a of added) {
        for (const d of scanAddedLines(a)) {
          // Already reported from the working tree: one finding per secret.
          if (!seen.has(d.fingerprint)) keep(d);
        }
      }
      diff = { base: opts.baseCommit, commits, scannedFiles: new Set(added.map((a) => a.file)).size };
    }
  }
  return { findings, scannedFiles, skippedFiles, diff };
}
