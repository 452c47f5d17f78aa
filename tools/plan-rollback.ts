import fs from 'node:fs';
import { z } from 'zod';
import { mapWithConcurrency } from '../src/aws/concurrency.js';
import { awsCall, errorMessage } from '../src/deploy/aws-call.js';
import {
  buildRollbackPlan,
  commandsFor,
  readBackups,
  renderRollbackMarkdown,
  renderRollbackScript,
  type RestoreTarget,
} from '../src/deploy/rollback-plan.js';
import type { AwsClients } from '../src/aws/clients.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

/** Whether the version a target restores still exists (and carries the recorded code). */
async function checkTarget(clients: AwsClients, t: RestoreTarget, signal: AbortSignal): Promise<{ ok: boolean; detail: string }> {
  try {
    if (t.kind === 'lambda-alias') {
      const { GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
      const lambda = await clients.lambda();
      const c = await awsCall(clients, 'lambda:GetFunctionConfiguration', `${t.function}:${t.version}`, () =>
        lambda.send(new GetFunctionConfigurationCommand({ FunctionName: t.function, Qualifier: t.version }), { abortSignal: signal }),
      );
      if (t.codeSha256 && c.CodeSha256 !== t.codeSha256) return { ok: false, detail: `version ${t.version} has code ${c.CodeSha256}, but ${t.codeSha256} was recorded` };
      return { ok: true, detail: `version ${t.version} exists${c.CodeSha256 ? ` (code ${c.CodeSha256.slice(0, 12)}…)` : ''}` };
    }
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await clients.s3();
    const h = await awsCall(clients, 's3:GetObject', `arn:aws:s3:::${t.bucket}/${t.key}`, () =>
      s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }), { abortSignal: signal }),
    );
    return { ok: true, detail: `version ${t.versionId} exists (${h.ContentLength ?? '?'} bytes)` };
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    return { ok: false, detail: errorMessage(err) };
  }
}

export default defineTool({
  name: 'plan-rollback',
  title: 'Generate the rollback procedure',
  description:
    "Builds the rollback procedure from recorded evidence: each alias deploy-lambda moved goes back to the version it recorded before the task's first deployment (routing cleared), each object upload-artifacts overwrote goes back to its recorded version id, cross-checked with the phase-2 backups. Checks in AWS that every version to restore still exists. Writes tasks/<id>/rollback.md (steps with the exact AWS CLI commands and how to verify them, S3 data-recovery steps, manual steps for what is not restored automatically: new aliases and objects, schedules, $LATEST configuration, phase-3 infrastructure) and an executable rollback.sh that runs the same commands and stops at the first step that does not verify.",
  phases: [7],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z.object({ taskId: TaskIdInput }).strict(),
  output: z.object({
    steps: z.array(
      z.object({
        order: z.number(),
        kind: z.enum(['lambda-alias', 's3-object']),
        component: z.string(),
        description: z.string(),
        restore: z.string().describe('Version (alias) or version id (object) restored'),
        current: z.string().nullable().describe('What this task left there'),
        commands: z.array(z.string()),
        verify: z.string(),
        checked: z.boolean().describe('The version to restore was found in AWS'),
        checkDetail: z.string(),
        source: z.string(),
      }),
    ),
    manual: z.array(z.object({ component: z.string(), title: z.string(), why: z.string(), commands: z.array(z.string()) })),
    path: z.string(),
    scriptPath: z.string(),
    backupsUsed: z.number(),
    notes: z.array(z.string()),
    allRestorable: z.boolean(),
  }),
  summarize: (o) =>
    [
      `Rollback procedure: ${o.steps.length} step(s)${o.manual.length ? `, ${o.manual.length} manual step(s)` : ''}${o.allRestorable ? '' : ', SOME VERSIONS NOT FOUND'} → ${o.path} and ${o.scriptPath}`,
      ...o.steps.map((s) => `  ${s.order}. ${s.description}${s.checked ? '' : ` — PROBLEM: ${s.checkDetail}`}`),
      ...o.manual.map((m) => `  manual: ${m.title}`),
    ].join('\n'),
  async run(_input, ctx) {
    const state = ctx.task!;
    const clients = ctx.aws();
    const region = clients.target.region;
    const profile = ctx.config?.environments?.[state.environment]?.profile ?? state.target.profile;
    const backups = await readBackups(ctx.store, state.taskId);
    const plan = buildRollbackPlan(state, backups, { region, profile });
    const checks = new Map<RestoreTarget, { ok: boolean; detail: string }>();
    await mapWithConcurrency(plan.targets, 8, async (t) => {
      checks.set(t, await checkTarget(clients, t, ctx.signal));
    });
    const meta = {
      taskId: state.taskId,
      title: state.title,
      environment: state.environment,
      component: state.component,
      generatedAt: ctx.now().toISOString(),
      region,
      profile,
      checks,
    };
    if (plan.targets.length === 0 && plan.manual.length === 0) plan.notes.push('No deployment was recorded in this task: there is nothing to roll back.');
    const path = await ctx.store.writeFile(state.taskId, 'rollback.md', renderRollbackMarkdown(plan, meta));
    const scriptPath = await ctx.store.writeFile(state.taskId, 'rollback.sh', renderRollbackScript(plan, meta));
    fs.chmodSync(scriptPath, 0o755);
    const cmd = { region, profile };
    const steps = plan.targets.map((t, i) => {
      const c = commandsFor(t, cmd);
      const check = checks.get(t)!;
      return {
        order: i + 1,
        kind: t.kind,
        component: t.component,
        description:
          t.kind === 'lambda-alias'
            ? `${t.function}: alias ${t.alias} → version ${t.version} (now ${t.deployedVersion ?? 'unknown'}), routing cleared`
            : `s3://${t.bucket}/${t.key} → version ${t.versionId}${t.deployedVersionId ? ` (now ${t.deployedVersionId})` : ''}`,
        restore: t.kind === 'lambda-alias' ? t.version : t.versionId,
        current: t.kind === 'lambda-alias' ? t.deployedVersion : (t.deployedVersionId ?? null),
        commands: c.restore,
        verify: c.verify,
        checked: check.ok,
        checkDetail: check.detail,
        source: t.source,
      };
    });
    return {
      steps,
      manual: plan.manual,
      path,
      scriptPath,
      backupsUsed: plan.backups.filter((b) => b.intact).length,
      notes: plan.notes,
      allRestorable: steps.every((s) => s.checked),
    };
  },
});
