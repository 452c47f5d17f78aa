/**
 * What a rollback of a task restores, derived from recorded evidence only: the versions
 * deploy-lambda and upload-artifacts recorded before they changed anything, cross-checked with
 * the phase-2 backups (tools/backup-state.ts) when they exist. Pure apart from reading the backup
 * files; the same plan feeds plan-rollback (rollback.md / rollback.sh), test-rollback and rollback.
 */
import { createHash } from 'node:crypto';
import type { TaskStore } from '../state/task-store.js';
import type { TaskState, ToolOutcome } from '../workflow/task-state.js';

export interface AliasRestoreTarget {
  kind: 'lambda-alias';
  component: string;
  function: string;
  alias: string;
  /** The version the alias served before this task first moved it. */
  version: string;
  /** The version this task left it on (null when unknown, e.g. after a failed deployment). */
  deployedVersion: string | null;
  source: 'deploy-lambda' | 'backup';
  /** Event that recorded the version to restore. */
  seq: number;
  /** What the phase-2 backup recorded, when it differs from `version`. */
  backupVersion?: string;
  /** Code of the version to restore, as recorded. */
  codeSha256?: string;
}

export interface ObjectRestoreTarget {
  kind: 's3-object';
  component: string;
  bucket: string;
  key: string;
  /** The version id that was current before this task overwrote the key. */
  versionId: string;
  /** The version id this task uploaded. */
  deployedVersionId?: string;
  source: 'upload-artifacts' | 'backup';
  seq: number;
}

export type RestoreTarget = AliasRestoreTarget | ObjectRestoreTarget;

/** Something a rollback should undo that the rollback tool does not do itself. */
export interface ManualStep {
  component: string;
  title: string;
  why: string;
  commands: string[];
}

export interface BackupFileRef {
  path: string;
  type: string;
  name: string;
  sha256: string;
  /** The file's content still matches the manifest's sha256. */
  intact: boolean;
}

export interface RollbackPlan {
  targets: RestoreTarget[];
  manual: ManualStep[];
  backups: BackupFileRef[];
  notes: string[];
}

export interface BackupFacts {
  files: BackupFileRef[];
  /** `function:alias` → version recorded in the backup. */
  aliases: Map<string, { version: string; file: string }>;
  /** `bucket\0key` → version id recorded in the backup. */
  objects: Map<string, { versionId: string; deleteMarker: boolean; file: string }>;
  /** Buckets whose snapshot says old bytes cannot be fetched back. */
  unrestorableBuckets: Map<string, string>;
  notes: string[];
}

export interface CommandContext {
  region: string;
  profile?: string;
}

type Out = Record<string, any>;
const out = (o: ToolOutcome): Out => (o.output ?? {}) as Out;

/** Reads `backups/manifest.json` and the snapshots it lists; null when there is no backup. */
export async function readBackups(store: TaskStore, taskId: number): Promise<BackupFacts | null> {
  const text = await store.readFile(taskId, 'backups/manifest.json').catch(() => null);
  if (!text) return null;
  const facts: BackupFacts = { files: [], aliases: new Map(), objects: new Map(), unrestorableBuckets: new Map(), notes: [] };
  let manifest: { files?: { path?: unknown; sha256?: unknown; type?: unknown; name?: unknown }[] };
  try {
    manifest = JSON.parse(text);
  } catch {
    facts.notes.push('backups/manifest.json is not valid JSON; the backups were not used.');
    return facts;
  }
  for (const f of manifest.files ?? []) {
    if (typeof f.path !== 'string' || typeof f.type !== 'string' || typeof f.name !== 'string') continue;
    const ref: BackupFileRef = { path: f.path, type: f.type, name: f.name, sha256: String(f.sha256 ?? ''), intact: false };
    facts.files.push(ref);
    let content: string | null = null;
    try {
      content = await store.readFile(taskId, f.path);
    } catch {
      content = null;
    }
    if (content === null) {
      facts.notes.push(`Backup file ${f.path} is listed in the manifest but missing.`);
      continue;
    }
    ref.intact = createHash('sha256').update(content).digest('hex') === ref.sha256;
    if (!ref.intact) {
      facts.notes.push(`Backup file ${f.path} does not match the sha256 in the manifest (changed after it was taken); it was not used.`);
      continue;
    }
    let doc: Out;
    try {
      doc = JSON.parse(content);
    } catch {
      facts.notes.push(`Backup file ${f.path} is not valid JSON; it was not used.`);
      continue;
    }
    if (f.type === 'lambda-function') {
      const fn = String(doc.restore?.functionName ?? doc.function?.functionName ?? f.name);
      for (const [alias, target] of Object.entries((doc.restore?.aliases ?? {}) as Record<string, Out>)) {
        if (typeof target?.functionVersion === 'string') facts.aliases.set(`${fn}:${alias}`, { version: target.functionVersion, file: f.path });
      }
    } else if (f.type === 'lambda-alias') {
      const r = doc.restore ?? {};
      if (typeof r.functionName === 'string' && typeof r.alias === 'string' && typeof r.functionVersion === 'string') {
        facts.aliases.set(`${r.functionName}:${r.alias}`, { version: r.functionVersion, file: f.path });
      }
    } else if (f.type === 's3-bucket') {
      const bucket = String(doc.bucket ?? f.name);
      const objects = doc.objects ?? {};
      if (objects.restorable === false) facts.unrestorableBuckets.set(bucket, String(objects.reason ?? 'the snapshot says objects cannot be restored by version id'));
      for (const item of (objects.items ?? []) as Out[]) {
        if (typeof item?.key === 'string' && typeof item.versionId === 'string') {
          facts.objects.set(`${bucket}\0${item.key}`, { versionId: item.versionId, deleteMarker: item.deleteMarker === true, file: f.path });
        }
      }
    }
  }
  return facts;
}

/**
 * The restore plan for everything this task changed. For a function deployed several times, the
 * version to restore is the one recorded by the first deployment (the state before the task).
 */
export function buildRollbackPlan(state: TaskState, backups: BackupFacts | null, cmd: CommandContext): RollbackPlan {
  const plan: RollbackPlan = { targets: [], manual: [], backups: backups?.files ?? [], notes: [...(backups?.notes ?? [])] };
  const successes = (tool: string) => state.outcomes.filter((o) => o.tool === tool && o.ok);

  // ---- Lambda aliases ----
  interface AliasHistory {
    component: string;
    function: string;
    alias: string;
    first?: { version: string | null; seq: number; codeSha256?: string; created: boolean };
    deployedVersion: string | null;
    lastSeq: number;
    configurationChanged: boolean;
    previousConfiguration?: Out;
  }
  const aliases = new Map<string, AliasHistory>();
  for (const o of state.outcomes.filter((x) => x.tool === 'deploy-lambda')) {
    const data = o.ok ? out(o) : ((o.error as Out | undefined)?.details as Out | undefined);
    if (!data || typeof data.function !== 'string' || typeof data.alias !== 'string') continue;
    // A failed deployment matters only if it may have left the alias off its previous version.
    if (!o.ok && data.aliasRestored !== false) continue;
    if (o.ok && data.published !== true && data.aliasCreated !== true && data.changed !== false) continue;
    const key = `${data.function}:${data.alias}`;
    let h = aliases.get(key);
    if (!h) {
      h = { component: String(o.input.component ?? data.function), function: data.function, alias: data.alias, deployedVersion: null, lastSeq: o.seq, configurationChanged: false };
      aliases.set(key, h);
    }
    if (!h.first) {
      h.first = {
        version: typeof data.previousVersion === 'string' ? data.previousVersion : null,
        seq: o.seq,
        codeSha256: typeof data.previousCodeSha256 === 'string' ? data.previousCodeSha256 : undefined,
        created: data.aliasCreated === true,
      };
      if (data.previousConfiguration) h.previousConfiguration = data.previousConfiguration;
    }
    h.deployedVersion = o.ok ? (typeof data.aliasVersion === 'string' ? data.aliasVersion : h.deployedVersion) : null;
    h.lastSeq = o.seq;
    if (o.ok && o.input.configuration) h.configurationChanged = true;
  }
  for (const h of aliases.values()) {
    const backup = backups?.aliases.get(`${h.function}:${h.alias}`);
    let version = h.first?.version ?? null;
    let source: AliasRestoreTarget['source'] = 'deploy-lambda';
    if (!version && backup && !h.first?.created) {
      version = backup.version;
      source = 'backup';
    }
    if (!version) {
      plan.manual.push({
        component: h.component,
        title: `${h.function}: alias ${h.alias} has no previous version`,
        why: `This task created alias ${h.alias} (first deployment), so there is no earlier version to go back to. Undoing it means pointing consumers elsewhere, disabling its schedules, or deleting the alias — decide with the owner.`,
        commands: [cli(cmd, ['lambda', 'delete-alias', '--function-name', h.function, '--name', h.alias])],
      });
      continue;
    }
    if (version === h.deployedVersion) continue; // the task left it where it was: nothing to undo
    const target: AliasRestoreTarget = {
      kind: 'lambda-alias',
      component: h.component,
      function: h.function,
      alias: h.alias,
      version,
      deployedVersion: h.deployedVersion,
      source,
      seq: h.lastSeq,
      ...(backup && backup.version !== version ? { backupVersion: backup.version } : {}),
      ...(h.first?.codeSha256 ? { codeSha256: h.first.codeSha256 } : {}),
    };
    if (target.backupVersion) {
      plan.notes.push(`${h.function}:${h.alias}: the phase-2 backup recorded version ${target.backupVersion}, but the alias was on version ${version} when this task first deployed it; the rollback restores ${version}.`);
    }
    plan.targets.push(target);
    if (h.configurationChanged) {
      const c = h.previousConfiguration ?? {};
      const args = ['lambda', 'update-function-configuration', '--function-name', h.function];
      if (typeof c.memorySize === 'number') args.push('--memory-size', String(c.memorySize));
      if (typeof c.timeout === 'number') args.push('--timeout', String(c.timeout));
      plan.manual.push({
        component: h.component,
        title: `${h.function}: $LATEST configuration`,
        why: `This task changed the function configuration. Version ${version} carries its own configuration, so moving the alias back restores it for ${h.alias} traffic; $LATEST keeps the new settings until the next deployment. To put $LATEST back too (memory ${c.memorySize ?? '?'} MB, timeout ${c.timeout ?? '?'} s, environment variables ${(c.environmentVariableNames ?? []).join(', ') || 'none'} — values are never recorded: copy them from version ${version} in the console):`,
        commands: [cli(cmd, args)],
      });
    }
  }

  // ---- S3 objects ----
  const objects = new Map<string, { component: string; bucket: string; key: string; first: Out; firstSeq: number; last: Out; lastSeq: number }>();
  for (const o of successes('upload-artifacts')) {
    for (const obj of (out(o).objects ?? []) as Out[]) {
      if (obj.uploaded !== true || typeof obj.key !== 'string') continue;
      const bucket = String(obj.bucket ?? out(o).bucket ?? o.input.bucket);
      const key = `${bucket}\0${obj.key}`;
      const known = objects.get(key);
      if (known) {
        known.last = obj;
        known.lastSeq = o.seq;
      } else {
        objects.set(key, { component: String(o.input.component ?? `s3://${bucket}/${String(o.input.prefix ?? '')}`), bucket, key: obj.key, first: obj, firstSeq: o.seq, last: obj, lastSeq: o.seq });
      }
    }
  }
  for (const [id, h] of objects) {
    const backup = backups?.objects.get(id);
    const deployedVersionId = typeof h.last.versionId === 'string' ? h.last.versionId : undefined;
    if (typeof h.first.previousVersionId === 'string') {
      plan.targets.push({ kind: 's3-object', component: h.component, bucket: h.bucket, key: h.key, versionId: h.first.previousVersionId, deployedVersionId, source: 'upload-artifacts', seq: h.lastSeq });
    } else if (h.first.existed !== true && backup && !backup.deleteMarker && backup.versionId !== 'null') {
      plan.targets.push({ kind: 's3-object', component: h.component, bucket: h.bucket, key: h.key, versionId: backup.versionId, deployedVersionId, source: 'backup', seq: h.lastSeq });
    } else if (h.first.existed === true) {
      const why = backups?.unrestorableBuckets.get(h.bucket) ?? `no version id was recorded for the object this task overwrote (bucket versioning off?)`;
      plan.manual.push({
        component: h.component,
        title: `s3://${h.bucket}/${h.key}: previous content not recoverable by version id`,
        why: `${why}. Re-upload the previous build of this file from its source (git tag / artifact store).`,
        commands: [],
      });
    } else {
      plan.manual.push({
        component: h.component,
        title: `s3://${h.bucket}/${h.key}: new object`,
        why: 'The key did not exist before this task. Undoing means deleting it (in a versioned bucket this adds a delete marker and keeps the uploaded version).',
        commands: [cli(cmd, ['s3api', 'delete-object', '--bucket', h.bucket, '--key', h.key])],
      });
    }
  }

  // ---- Schedules (restored by hand: the alias rollback already points them at the old code) ----
  const rules = new Map<string, { o: ToolOutcome; first: Out }>();
  for (const o of successes('configure-schedule')) {
    const name = out(o).ruleName;
    if (typeof name === 'string' && !rules.has(name)) rules.set(name, { o, first: out(o) });
  }
  for (const [name, { o, first }] of rules) {
    const prev = (first.previous ?? {}) as Out;
    const component = String(o.input.component ?? o.input.function ?? name);
    const fn = String(o.input.function ?? '');
    const alias = String(first.targetArn ?? '').split(':').at(-1) ?? '';
    if (!prev.exists) {
      plan.manual.push({
        component,
        title: `schedule ${name}: created by this task`,
        why: `The rule did not exist before. Its target is the alias, so after the alias rollback it invokes the previous version; to undo it completely, remove it:`,
        commands: [
          cli(cmd, ['events', 'remove-targets', '--rule', name, '--ids', String(first.targetId ?? '')]),
          cli(cmd, ['events', 'delete-rule', '--name', name]),
          ...(fn && alias ? [cli(cmd, ['lambda', 'remove-permission', '--function-name', fn, '--qualifier', alias, '--statement-id', String(first.statementId ?? '')])] : []),
        ],
      });
    } else {
      const commands = [
        cli(cmd, [
          'events',
          'put-rule',
          '--name',
          name,
          ...(prev.scheduleExpression ? ['--schedule-expression', String(prev.scheduleExpression)] : []),
          '--state',
          String(prev.state ?? 'ENABLED'),
        ]),
      ];
      const prevTargets = (prev.targets ?? []) as Out[];
      if (!prevTargets.some((t) => t.id === first.targetId)) commands.push(cli(cmd, ['events', 'remove-targets', '--rule', name, '--ids', String(first.targetId ?? '')]));
      if (prevTargets.length) {
        commands.push(cli(cmd, ['events', 'put-targets', '--rule', name, '--targets', JSON.stringify(prevTargets.map((t) => ({ Id: t.id, Arn: t.arn, ...(t.input !== undefined ? { Input: t.input } : {}) })))]));
      }
      plan.manual.push({
        component,
        title: `schedule ${name}: changed by this task`,
        why: `Before this task it was ${prev.scheduleExpression ?? '(no schedule)'} ${prev.state ?? ''} with ${prevTargets.length} target(s). To put it back:`,
        commands,
      });
    }
  }

  plan.targets.sort((a, b) => b.seq - a.seq);
  return plan;
}

/** The targets (and manual steps) of the named components; all when `components` is empty. */
export function selectComponents(plan: RollbackPlan, components: readonly string[] | undefined): { plan: RollbackPlan; unknown: string[] } {
  if (!components || components.length === 0) return { plan, unknown: [] };
  const names = (t: RestoreTarget) => (t.kind === 'lambda-alias' ? [t.component, t.function, `${t.function}:${t.alias}`] : [t.component, t.bucket, `s3://${t.bucket}/${t.key}`]);
  const known = new Set([...plan.targets.flatMap(names), ...plan.manual.map((m) => m.component)]);
  const unknown = components.filter((c) => !known.has(c));
  const wanted = new Set(components);
  return {
    plan: {
      ...plan,
      targets: plan.targets.filter((t) => names(t).some((n) => wanted.has(n))),
      manual: plan.manual.filter((m) => wanted.has(m.component)),
    },
    unknown,
  };
}

export function describeTarget(t: RestoreTarget): string {
  return t.kind === 'lambda-alias'
    ? `${t.function}:${t.alias} → version ${t.version} (from ${t.deployedVersion ?? 'unknown'}), routing cleared`
    : `s3://${t.bucket}/${t.key} → version ${t.versionId}${t.deployedVersionId ? ` (from ${t.deployedVersionId})` : ''}`;
}

// ---- AWS CLI commands --------------------------------------------------------------------------

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function cli(cmd: CommandContext, args: string[]): string {
  return ['aws', ...args, '--region', cmd.region, ...(cmd.profile ? ['--profile', cmd.profile] : [])].map(shellQuote).join(' ');
}

/** S3 copy sources take the key URL-encoded, `/` kept. */
export function copySource(bucket: string, key: string, versionId: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(versionId)}`;
}

export interface TargetCommands {
  restore: string[];
  /** Prints what must equal `expect` after the restore. */
  verify: string;
  /** For S3: prints the expected value from the old version. */
  expectCommand?: string;
  expect?: string;
}

export function commandsFor(t: RestoreTarget, cmd: CommandContext): TargetCommands {
  if (t.kind === 'lambda-alias') {
    return {
      restore: [cli(cmd, ['lambda', 'update-alias', '--function-name', t.function, '--name', t.alias, '--function-version', t.version, '--routing-config', '{"AdditionalVersionWeights":{}}'])],
      verify: cli(cmd, ['lambda', 'get-alias', '--function-name', t.function, '--name', t.alias, '--query', '[FunctionVersion, length(keys(RoutingConfig.AdditionalVersionWeights || `{}`))]', '--output', 'text']),
      expect: `${t.version}\t0`,
    };
  }
  const query = ['--query', '[ContentLength, Metadata.sha256]', '--output', 'text'];
  return {
    restore: [cli(cmd, ['s3api', 'copy-object', '--bucket', t.bucket, '--key', t.key, '--copy-source', copySource(t.bucket, t.key, t.versionId)])],
    verify: cli(cmd, ['s3api', 'head-object', '--bucket', t.bucket, '--key', t.key, ...query]),
    expectCommand: cli(cmd, ['s3api', 'head-object', '--bucket', t.bucket, '--key', t.key, '--version-id', t.versionId, ...query]),
  };
}

// ---- rollback.md / rollback.sh ------------------------------------------------------------------

export interface PlanDocumentMeta {
  taskId: number;
  title: string;
  environment: string;
  component: string;
  generatedAt: string;
  region: string;
  profile?: string;
  /** Per target: whether the version to restore was found in AWS (plan-rollback checks). */
  checks?: Map<RestoreTarget, { ok: boolean; detail: string }>;
}

export function renderRollbackMarkdown(plan: RollbackPlan, meta: PlanDocumentMeta): string {
  const cmd = { region: meta.region, profile: meta.profile };
  const lines: string[] = [
    `# Rollback procedure — task #${meta.taskId}: ${meta.title}`,
    '',
    `Environment \`${meta.environment}\` · component \`${meta.component}\` · region \`${meta.region}\`${meta.profile ? ` · profile \`${meta.profile}\`` : ''}`,
    `Generated ${meta.generatedAt} by deploy-mcp plan-rollback from the task's recorded evidence${plan.backups.length ? ' and its phase-2 backups' : ''}.`,
    '',
    '## How to roll back',
    '',
    '1. Preferred: the agent calls the `rollback` tool; the human confirms in the client form or with',
    `   \`npx deploy-mcp approve ${meta.taskId}\` (typed phrase \`approve rollback\`). It runs the steps below and verifies each.`,
    '2. Without the agent: `bash rollback.sh` in this directory runs the same AWS CLI commands and',
    '   stops at the first step that does not verify.',
    '3. Then the manual steps, if any, with their owners.',
    '',
    `## Steps (${plan.targets.length}, newest change first)`,
    '',
  ];
  if (plan.targets.length === 0) lines.push('_Nothing recorded that the rollback tool restores._', '');
  plan.targets.forEach((t, i) => {
    const c = commandsFor(t, cmd);
    const check = meta.checks?.get(t);
    lines.push(`### ${i + 1}. ${t.kind === 'lambda-alias' ? `Lambda ${t.function} — alias ${t.alias}` : `S3 object s3://${t.bucket}/${t.key}`}`, '');
    lines.push(`- Component: \`${t.component}\``);
    if (t.kind === 'lambda-alias') {
      lines.push(`- Restore: version **${t.version}**${t.codeSha256 ? ` (code ${t.codeSha256})` : ''}, routing cleared; now on ${t.deployedVersion ?? 'an unknown version (a deployment failed)'}`);
    } else {
      lines.push(`- Restore: version id **${t.versionId}** copied over the current object${t.deployedVersionId ? ` (${t.deployedVersionId}, uploaded by this task, stays in the version history)` : ''}`);
    }
    lines.push(`- Recorded by: ${t.source} (event seq ${t.seq})${t.kind === 'lambda-alias' && t.backupVersion ? `; the backup says ${t.backupVersion}` : ''}`);
    if (check) lines.push(`- Checked in AWS at generation: ${check.ok ? 'OK' : 'PROBLEM'} — ${check.detail}`);
    lines.push('', '```sh', ...c.restore, '```', '', 'Verify:', '', '```sh', c.verify, '```', '');
    lines.push(c.expect !== undefined ? `Expected output: \`${c.expect.replace('\t', ' ')}\`` : `Expected output: the same as \`${c.expectCommand}\``, '');
  });
  lines.push('## Manual steps', '');
  if (plan.manual.length === 0) lines.push('_None._', '');
  for (const m of plan.manual) {
    lines.push(`- **${m.title}** (component \`${m.component}\`): ${m.why}`);
    if (m.commands.length) lines.push('', '  ```sh', ...m.commands.map((c) => `  ${c}`), '  ```');
    lines.push('');
  }
  lines.push('Not covered by this procedure: infrastructure the human changed in phase 3 (revert it in the console or its IaC), data the new code wrote, messages it sent, alarms and dashboards created in phase 6.', '');
  lines.push('## Data recovery (S3)', '');
  const objects = plan.targets.filter((t): t is ObjectRestoreTarget => t.kind === 's3-object');
  if (objects.length) {
    lines.push('Each overwritten object is restored by copying its previous version over the key; the version this task uploaded stays in the history and can be copied back the same way. To list the history of a key:', '');
    lines.push('```sh', ...objects.slice(0, 20).map((t) => cli(cmd, ['s3api', 'list-object-versions', '--bucket', t.bucket, '--prefix', t.key, '--max-items', '10'])), '```', '');
  } else {
    lines.push('_No S3 object to recover._', '');
  }
  lines.push('## Backups', '');
  if (plan.backups.length === 0) lines.push('_No phase-2 backup was found for this task._', '');
  for (const b of plan.backups) lines.push(`- \`${b.path}\` — ${b.type} \`${b.name}\`, sha256 \`${b.sha256.slice(0, 16)}…\`${b.intact ? '' : ' (**does not match its manifest entry — not used**)'}`);
  if (plan.backups.length) lines.push('');
  if (plan.notes.length) lines.push('## Notes', '', ...plan.notes.map((n) => `- ${n}`), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

export function renderRollbackScript(plan: RollbackPlan, meta: PlanDocumentMeta): string {
  const cmd = { region: meta.region, profile: meta.profile };
  const q = shellQuote;
  const lines: string[] = [
    '#!/usr/bin/env bash',
    `# Rollback for deploy-mcp task #${meta.taskId} (${meta.environment} / ${meta.component}), generated ${meta.generatedAt}.`,
    '# Restores what the task changed, newest change first, and verifies each step; stops at the first',
    '# step that does not verify. The same steps run, human-confirmed, through the `rollback` tool.',
    '# Usage: bash rollback.sh [--yes]',
    'set -euo pipefail',
    '',
    'fail() { echo "ROLLBACK STOPPED: $*" >&2; exit 1; }',
    'step() { echo; echo "==> $*"; }',
    'command -v aws >/dev/null 2>&1 || fail "the AWS CLI (aws) is not installed"',
    '',
    `echo ${q(`Rollback of task #${meta.taskId}: ${plan.targets.length} step(s) in ${meta.region}${meta.profile ? ` (profile ${meta.profile})` : ''}.`)}`,
    ...plan.targets.map((t) => `echo ${q(`  - ${describeTarget(t)}`)}`),
    'if [ "${1:-}" != "--yes" ]; then',
    '  read -r -p "Type \'rollback\' to continue: " answer',
    '  [ "$answer" = "rollback" ] || fail "not confirmed; nothing was changed"',
    'fi',
    'started=$(date +%s)',
  ];
  plan.targets.forEach((t, i) => {
    const c = commandsFor(t, cmd);
    lines.push('', `step ${q(`${i + 1}/${plan.targets.length} ${describeTarget(t)}`)}`);
    if (c.expectCommand) lines.push(`want=$(${c.expectCommand})`);
    for (const r of c.restore) lines.push(`${r} >/dev/null`);
    lines.push(`got=$(${c.verify})`);
    if (c.expect !== undefined) {
      const [version, weights] = c.expect.split('\t');
      lines.push(`[ "$got" = ${q(version)}$'\\t'${weights} ] || fail ${q(`${(t as AliasRestoreTarget).function}:${(t as AliasRestoreTarget).alias} reads back as (version, routing weights):`)}" $got"`);
    } else {
      lines.push(`[ "$got" = "$want" ] || fail ${q(`s3://${(t as ObjectRestoreTarget).bucket}/${(t as ObjectRestoreTarget).key} reads back as`)}" $got, expected $want"`);
    }
    lines.push('echo "    verified"');
  });
  lines.push('', 'echo', `echo "All ${plan.targets.length} step(s) verified in $(( $(date +%s) - started )) s."`);
  if (plan.manual.length) {
    lines.push('echo "Manual steps remain (see rollback.md):"');
    for (const m of plan.manual) lines.push(`echo ${q(`  - ${m.title}`)}`);
    lines.push('', '# Manual steps — run by hand after review:');
    // One line each, whatever a title or key contains: a newline would end the comment.
    const comment = (text: string) => `# ${text.replace(/[\r\n]+/g, ' ')}`;
    for (const m of plan.manual) {
      lines.push(comment(m.title));
      for (const c of m.commands) lines.push(comment(`  ${c}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
