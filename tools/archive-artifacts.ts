import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { resolveStateDir, type DeployConfig } from '../src/config/index.js';
import { describeWebhook } from '../src/release/notify.js';
import { redactValue } from '../src/journal/redact.js';
import { archiveLocal, archiveS3, buildManifest, collectDirectory, parseDestination, type ArchiveFile } from '../src/release/archive.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

/** The effective config, redacted; a webhook URL's path is its credential, so only its origin is kept. */
function configSnapshot(config: DeployConfig | null): Record<string, unknown> {
  const copy = redactValue(config ?? {}) as Record<string, any>;
  if (copy.notify?.webhookUrl) copy.notify = { ...copy.notify, webhookUrl: describeWebhook(copy.notify.webhookUrl) };
  return copy;
}

/** Files of a task that are archived even when the store is not a local directory. */
const KNOWN_FILES = ['events.jsonl', 'journal.md', 'report.md', 'runbook.md'];

export default defineTool({
  name: 'archive-artifacts',
  title: 'Archive the deployment record',
  description:
    "Copies the task's record — events.jsonl (the hash-chained log), journal.md, report.md, runbook.md, backups/ and every other file of the task — plus a snapshot of the effective config (config.snapshot.json, redacted) to `destination`: a local folder (relative to the project root) or `s3://bucket/prefix`. Default: <stateDir>/archive/task-<id>. Writes manifest.json and SHA256SUMS with the sha256 of every file, then reads every copy back and checks its hash; any mismatch fails the call. Run it after generate-report so the report is included; archiving again overwrites the copy.",
  phases: [8],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      destination: z.string().trim().min(1).max(1024).optional().describe('Local folder or s3://bucket/prefix; default <stateDir>/archive/task-<id>'),
    })
    .strict(),
  output: z.object({
    destination: z.string(),
    archived: z.array(z.object({ name: z.string(), location: z.string(), bytes: z.number().int(), sha256: z.string(), verified: z.boolean(), versionId: z.string().optional() })),
    manifest: z.object({ location: z.string(), sha256: z.string() }),
    fileCount: z.number().int(),
    totalBytes: z.number().int(),
    verified: z.boolean(),
    missing: z.array(z.string()),
  }),
  summarize: (o) =>
    `Archived ${o.fileCount} file(s), ${o.totalBytes} bytes, to ${o.destination}; every copy verified by sha256. Manifest ${o.manifest.location}.${o.missing.length ? ` Not found (not generated yet?): ${o.missing.join(', ')}.` : ''}`,
  async run(input, ctx) {
    const state = ctx.task!;
    const taskId = state.taskId;
    const stateDir = resolveStateDir(ctx.projectRoot, ctx.config);
    let destination;
    try {
      destination = parseDestination(input.destination ?? path.join(stateDir, 'archive', `task-${taskId}`), ctx.projectRoot);
    } catch (err) {
      throw new ToolError('invalid-destination', (err as Error).message, 'Pass a local folder (e.g. "release-archive") or s3://bucket/prefix.');
    }

    await ctx.deployments.flushJournal(taskId);
    let files: ArchiveFile[];
    if (ctx.store.backend === 'local') {
      const taskDir = path.dirname(ctx.store.filePath(taskId, 'events.jsonl'));
      if (destination.kind === 'local' && (destination.dir === taskDir || destination.dir.startsWith(taskDir + path.sep))) {
        throw new ToolError('invalid-destination', `The destination ${destination.dir} is inside the task's own folder.`, 'Archive to a folder outside it (the default is <stateDir>/archive/task-<id>).');
      }
      files = collectDirectory(taskDir);
    } else {
      files = [];
      for (const name of KNOWN_FILES) {
        const text = await ctx.store.readFile(taskId, name);
        if (text !== null) files.push({ name, content: Buffer.from(text) });
      }
    }
    // The log may be growing (read-only tools still record outcomes): keep whole lines only.
    const events = files.find((f) => f.name === 'events.jsonl');
    if (events) events.content = events.content.subarray(0, events.content.lastIndexOf(0x0a) + 1);
    files = files.filter((f) => f.name !== 'config.snapshot.json' && f.name !== 'manifest.json' && f.name !== 'SHA256SUMS');
    files.push({ name: 'config.snapshot.json', content: Buffer.from(`${JSON.stringify(configSnapshot(ctx.config), null, 2)}\n`) });
    const missing = ['report.md', 'runbook.md'].filter((n) => !files.some((f) => f.name === n));

    const { json, sums } = buildManifest(
      {
        taskId,
        title: state.title,
        environment: state.environment,
        component: state.component,
        status: state.status,
        phase: state.phase,
        createdAt: state.createdAt,
        archivedAt: ctx.now().toISOString(),
        eventCount: state.eventCount,
        headHash: state.head?.hash ?? null,
      },
      files,
    );
    const all = [...files, json, sums];
    let archived;
    let where: string;
    if (destination.kind === 'local') {
      where = destination.dir;
      try {
        archived = await archiveLocal(destination.dir, all);
      } catch (err) {
        throw new ToolError('archive-failed', `Could not write the archive to ${destination.dir}: ${(err as Error).message}`, 'Check the folder exists or can be created and is writable.');
      }
    } else {
      where = `s3://${destination.bucket}/${destination.prefix}`;
      archived = await archiveS3(ctx.aws(), destination.bucket, destination.prefix, all);
    }
    const bad = archived.filter((a) => !a.verified);
    if (bad.length) {
      throw new ToolError(
        'archive-verification-failed',
        `${bad.length} file(s) read back from ${where} do not match what was written: ${bad.map((b) => b.name).join(', ')}.`,
        'Archive again; if it persists, check the destination (a proxy or lifecycle rule rewriting objects, a full disk).',
        { archived },
      );
    }
    const manifest = archived.find((a) => a.name === 'manifest.json')!;
    if (destination.kind === 'local' && !fs.existsSync(manifest.location)) throw new ToolError('archive-failed', `The manifest is missing from ${where} after writing it.`);
    return {
      destination: where,
      archived,
      manifest: { location: manifest.location, sha256: manifest.sha256 },
      fileCount: archived.length,
      totalBytes: archived.reduce((n, a) => n + a.bytes, 0),
      verified: true,
      missing,
    };
  },
});
