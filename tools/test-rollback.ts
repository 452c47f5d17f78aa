import { z } from 'zod';
import { mapWithConcurrency } from '../src/aws/concurrency.js';
import { awsCall, errorMessage } from '../src/deploy/aws-call.js';
import { describeAlias, readAlias, restoreAlias } from '../src/deploy/lambda-alias.js';
import { buildRollbackPlan, readBackups, type AliasRestoreTarget, type ObjectRestoreTarget } from '../src/deploy/rollback-plan.js';
import { invokeLambda } from '../src/deploy/smoke.js';
import type { AwsClients } from '../src/aws/clients.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

interface Rehearsal {
  function: string;
  alias: string;
  restoredVersion: string;
  rolledForwardVersion: string;
  passed: boolean;
  rollbackMs: number;
  rollForwardMs: number;
  steps: { name: string; passed: boolean; detail: string; durationMs: number }[];
}

export default defineTool({
  name: 'test-rollback',
  title: 'Rehearse the rollback',
  description:
    "Rehearses the rollback of each function deployed in this task (or only `function`): moves its alias back to the recorded previous version with routing cleared, verifies it with GetAlias and a smoke invoke of the alias, measures how long that took, then rolls forward to the deployed version and verifies again. The alias must be on the deployed version, unweighted, when it starts; it is left there in every case (and the result says so if it could not be). Object versions that rollback would copy back are checked to still exist. The phase-7 criterion needs passed: true with the duration.",
  phases: [7],
  aws: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      function: z.string().trim().min(1).max(170).optional().describe('Rehearse only this function (default: every deployed function)'),
      payload: z.unknown().optional().describe('Event for the smoke invokes (default {})'),
      expectJson: z.unknown().optional().describe('The smoke responses must contain this JSON'),
    })
    .strict(),
  output: z.object({
    passed: z.boolean(),
    durationMs: z.number().describe('Rollback time: from the first alias update to every alias verified and smoke-tested on the previous version'),
    restoredVersion: z.string().nullable().describe('Version restored (of the first function when there are several)'),
    rolledForwardVersion: z.string().nullable(),
    functions: z.array(
      z.object({
        function: z.string(),
        alias: z.string(),
        restoredVersion: z.string(),
        rolledForwardVersion: z.string(),
        passed: z.boolean(),
        rollbackMs: z.number(),
        rollForwardMs: z.number(),
        steps: z.array(z.object({ name: z.string(), passed: z.boolean(), detail: z.string(), durationMs: z.number() })),
      }),
    ),
    objects: z.array(z.object({ target: z.string(), versionId: z.string(), exists: z.boolean(), detail: z.string() })),
    leftOn: z.array(z.object({ function: z.string(), alias: z.string(), state: z.string(), asDeployed: z.boolean() })),
  }),
  summarize: (o) =>
    [
      `Rollback rehearsal ${o.passed ? 'PASSED' : 'FAILED'} in ${o.durationMs} ms${o.restoredVersion ? ` (restored version ${o.restoredVersion}, rolled forward to ${o.rolledForwardVersion})` : ''}`,
      ...o.functions.map((f) => `  ${f.passed ? '✔' : '✘'} ${f.function}:${f.alias} ${f.rolledForwardVersion} → ${f.restoredVersion} in ${f.rollbackMs} ms → back to ${f.rolledForwardVersion} in ${f.rollForwardMs} ms${f.passed ? '' : `: ${f.steps.filter((s) => !s.passed).map((s) => s.detail).join('; ')}`}`),
      ...o.objects.map((x) => `  ${x.exists ? '✔' : '✘'} ${x.target} version ${x.versionId}: ${x.detail}`),
      ...o.leftOn.filter((l) => !l.asDeployed).map((l) => `  ! ${l.function}:${l.alias} is now ${l.state}, not as deployed`),
    ].join('\n'),
  async run(input, ctx) {
    const state = ctx.task!;
    const clients = ctx.aws();
    const plan = buildRollbackPlan(state, await readBackups(ctx.store, state.taskId), { region: clients.target.region });
    let aliases = plan.targets.filter((t): t is AliasRestoreTarget => t.kind === 'lambda-alias');
    const objects = input.function ? [] : plan.targets.filter((t): t is ObjectRestoreTarget => t.kind === 's3-object');
    if (input.function) {
      aliases = aliases.filter((t) => t.function === input.function);
      if (aliases.length === 0) {
        throw new ToolError('nothing-to-rehearse', `No rollback of ${input.function} is recorded in this task (it was not deployed here, or its alias has no previous version).`, 'Call plan-rollback to see what the rollback covers, or omit function.');
      }
    }
    const missing = aliases.filter((t) => !t.deployedVersion);
    if (missing.length) {
      throw new ToolError('deployment-incomplete', `The latest deployment of ${missing.map((t) => t.function).join(', ')} failed, so there is no deployed version to roll forward to.`, 'Deploy it successfully first (phase 4), or ask the human how to proceed.');
    }
    if (aliases.length === 0 && objects.length === 0) {
      throw new ToolError('nothing-to-rehearse', 'Nothing this task deployed has a previous version to roll back to.', 'Call plan-rollback: its manual steps describe what undoing this deployment means.');
    }

    // Start from the state the task deployed, or the rehearsal proves nothing.
    for (const t of aliases) {
      const now = await readAlias(clients, t.function, t.alias, ctx.signal);
      if (!now || now.functionVersion !== t.deployedVersion || Object.keys(now.weights).length) {
        throw new ToolError(
          'alias-drifted',
          `${t.function}:${t.alias} is on ${describeAlias(now)}, but this task deployed version ${t.deployedVersion}. Nothing was changed.`,
          'Find out who moved the alias; deploy again or ask the human before rehearsing.',
        );
      }
    }

    const total = aliases.length * 2 + objects.length;
    let done = 0;
    const smoke = (t: AliasRestoreTarget) => invokeLambda(clients, { function: t.function, qualifier: t.alias, payload: input.payload, expectJson: input.expectJson }, ctx.signal);
    const rehearsals: Rehearsal[] = aliases.map((t) => ({
      function: t.function,
      alias: t.alias,
      restoredVersion: t.version,
      rolledForwardVersion: t.deployedVersion!,
      passed: false,
      rollbackMs: 0,
      rollForwardMs: 0,
      steps: [],
    }));
    const run = async (r: Rehearsal, name: string, fn: () => Promise<{ passed: boolean; detail: string }>) => {
      const started = Date.now();
      try {
        const res = await fn();
        r.steps.push({ name, ...res, durationMs: Date.now() - started });
        return res.passed;
      } catch (err) {
        if ((err as Error)?.name === 'AbortError') throw err;
        r.steps.push({ name, passed: false, detail: errorMessage(err), durationMs: Date.now() - started });
        return false;
      }
    };

    // Back, all functions at once (as rollback does), then forward.
    const rollbackStarted = Date.now();
    const back = await mapWithConcurrency(aliases, 10, async (t, i) => {
      const r = rehearsals[i];
      const started = Date.now();
      const moved = await run(r, 'rollback', async () => {
        const res = await restoreAlias(clients, t.function, t.alias, t.version, ctx.signal);
        return { passed: res.verified, detail: res.verified ? `on version ${t.version}, unweighted (GetAlias)` : `reads back as ${describeAlias(res.after)}` };
      });
      const smoked = moved && (await run(r, 'smoke-previous', async () => smoke(t)));
      r.rollbackMs = Date.now() - started;
      await ctx.progress(++done, total, `${t.function}: rolled back to ${t.version}`);
      return moved && smoked;
    });
    const durationMs = Date.now() - rollbackStarted;

    const forward = await mapWithConcurrency(aliases, 10, async (t, i) => {
      const r = rehearsals[i];
      const started = Date.now();
      const moved = await run(r, 'roll-forward', async () => {
        const res = await restoreAlias(clients, t.function, t.alias, t.deployedVersion!);
        return { passed: res.verified, detail: res.verified ? `back on version ${t.deployedVersion}, unweighted (GetAlias)` : `reads back as ${describeAlias(res.after)}` };
      });
      const smoked = moved && (await run(r, 'smoke-deployed', async () => smoke(t)));
      r.rollForwardMs = Date.now() - started;
      await ctx.progress(++done, total, `${t.function}: rolled forward to ${t.deployedVersion}`);
      return moved && smoked;
    });
    rehearsals.forEach((r, i) => (r.passed = back[i] && forward[i]));

    const objectChecks = await mapWithConcurrency(objects, 8, async (t) => {
      const res = await checkObjectVersion(clients, t, ctx.signal);
      await ctx.progress(++done, total, `s3://${t.bucket}/${t.key}`);
      return res;
    });

    const leftOn = await mapWithConcurrency(aliases, 10, async (t) => {
      const now = await readAlias(clients, t.function, t.alias).catch(() => null);
      return { function: t.function, alias: t.alias, state: describeAlias(now), asDeployed: !!now && now.functionVersion === t.deployedVersion && Object.keys(now.weights).length === 0 };
    });
    const passed = rehearsals.every((r) => r.passed) && objectChecks.every((o) => o.exists) && leftOn.every((l) => l.asDeployed);
    return {
      passed,
      durationMs,
      restoredVersion: rehearsals[0]?.restoredVersion ?? null,
      rolledForwardVersion: rehearsals[0]?.rolledForwardVersion ?? null,
      functions: rehearsals,
      objects: objectChecks,
      leftOn,
    };
  },
});

async function checkObjectVersion(clients: AwsClients, t: ObjectRestoreTarget, signal: AbortSignal) {
  const target = `s3://${t.bucket}/${t.key}`;
  try {
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await clients.s3();
    const h = await awsCall(clients, 's3:GetObject', `arn:aws:s3:::${t.bucket}/${t.key}`, () =>
      s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: t.versionId }), { abortSignal: signal }),
    );
    return { target, versionId: t.versionId, exists: true, detail: `restorable (${h.ContentLength ?? '?'} bytes)` };
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    return { target, versionId: t.versionId, exists: false, detail: errorMessage(err) };
  }
}
