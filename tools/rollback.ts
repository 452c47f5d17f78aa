import { z } from 'zod';
import { askHumanThroughClient } from '../src/workflow/ask-human.js';
import { claimRollback, decideRollback } from '../src/deploy/rollback-approval.js';
import { executeRestore, type RestoredItem } from '../src/deploy/rollback-exec.js';
import { buildRollbackPlan, describeTarget, readBackups, selectComponents, type RestoreTarget } from '../src/deploy/rollback-plan.js';
import { redactValue } from '../src/journal/redact.js';
import { canonicalJson, sha256Hex } from '../src/state/event-log.js';
import { ToolError, defineTool } from '../src/tool.js';
import type { ToolContext } from '../src/tool-context.js';
import { TaskIdInput } from '../src/tool-schemas.js';
import { rollbackRequestEvent, type HumanDecision } from '../src/workflow/approvals.js';
import { pendingRollbackRequest, type RollbackRequest, type TaskState } from '../src/workflow/task-state.js';


const RequestId = z.string().regex(/^rb-[0-9a-f]{12}$/, 'a rollback request id (rb-…)');

/** What a stored restore target must look like before anything acts on it. */
const StoredTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('lambda-alias'), component: z.string(), function: z.string().min(1), alias: z.string().min(1), version: z.string().min(1) }).passthrough(),
  z.object({ kind: z.literal('s3-object'), component: z.string(), bucket: z.string().min(1), key: z.string().min(1), versionId: z.string().min(1) }).passthrough(),
]);

const Restored = z.object({
  kind: z.enum(['lambda-alias', 's3-object']),
  component: z.string(),
  target: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  status: z.enum(['restored', 'unchanged', 'failed']),
  verified: z.boolean(),
  detail: z.string(),
  durationMs: z.number(),
});

const Output = z.object({
  status: z.enum(['rolled-back', 'pending', 'rejected', 'failed']),
  requestId: z.string().optional(),
  reason: z.string(),
  plan: z.array(z.string()).describe('What this request restores, as shown to the human'),
  restored: z.array(Restored),
  failedCount: z.number(),
  notRestored: z.array(z.object({ component: z.string(), title: z.string() })).describe('Left for the human (rollback.md has the commands)'),
  durationMs: z.number().describe('From the confirmed request to every target verified'),
  approval: z.object({ channel: z.string().optional(), approver: z.string().optional(), at: z.string(), comment: z.string().optional() }).optional(),
  expiresAt: z.string().optional(),
  instructions: z.string().optional(),
  message: z.string().optional(),
});
type Output = z.infer<typeof Output>;

export default defineTool({
  name: 'rollback',
  title: 'Roll back the deployment (human-confirmed)',
  description:
    "Restores what this task deployed: each Lambda alias back to the version recorded before the task moved it (routing cleared, verified with GetAlias), each overwritten S3 object back to its recorded version id (the old version copied over the key, verified with HeadObject). Not blocked by failing criteria, alarms or a pending transition. Every run needs the human's confirmation: with a client form (elicitation) they see exactly what will be restored and confirm there, and it runs at once; otherwise the result is `pending` with a requestId — ask the human to run `npx deploy-mcp approve <taskId>` in their own terminal (never run it yourself), then call rollback again with that requestId. A request runs at most once, only after a human approved it, and expires like a transition request. A completed rollback ends the task as rolled-back.",
  phases: [4, 5, 6, 7, 8],
  aws: true,
  allowWhilePending: true,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      reason: z.string().trim().min(10).max(2000).describe('Why: the trigger and its evidence, in one or two sentences (no secrets)'),
      components: z.array(z.string().trim().min(1).max(200)).min(1).max(50).optional().describe('Only these components / functions / buckets (default: everything this task deployed)'),
      requestId: RequestId.optional().describe('Run a request the human has approved (from the earlier pending result)'),
    })
    .strict(),
  output: Output,
  summarize: (o) =>
    [
      `${o.status.toUpperCase()}${o.requestId ? ` (${o.requestId})` : ''}: ${o.status === 'rolled-back' || o.status === 'failed' ? `${o.restored.filter((r) => r.verified).length} of ${o.restored.length} restored and verified in ${o.durationMs} ms` : `${o.plan.length} restore step(s)`}${o.approval?.approver ? `, confirmed by ${o.approval.approver} via ${o.approval.channel}` : ''} — reason: ${o.reason}`,
      ...(o.restored.length ? o.restored.map((r) => `  ${r.verified ? '✔' : '✘'} ${r.target}: ${r.from ?? '?'} → ${r.to} (${r.status}) ${r.detail}`) : o.plan.map((p) => `  - ${p}`)),
      ...o.notRestored.map((m) => `  manual: ${m.title}`),
      o.message ?? '',
      o.instructions ?? '',
    ]
      .filter(Boolean)
      .join('\n'),
  async run(input, ctx) {
    const state = ctx.task!;
    if (input.requestId) return execute(ctx, state, input.requestId, input.components);

    const clients = ctx.aws();
    const profile = ctx.config?.environments?.[state.environment]?.profile ?? state.target.profile;
    const full = buildRollbackPlan(state, await readBackups(ctx.store, state.taskId), { region: clients.target.region, profile });
    const { plan, unknown } = selectComponents(full, input.components);
    if (unknown.length) {
      const known = [...new Set(full.targets.map((t) => t.component))];
      throw new ToolError('unknown-component', `Not deployed in this task: ${unknown.join(', ')}.`, `Use the names of deployed components (${known.join(', ') || 'none'}), functions or buckets, or omit components.`);
    }
    if (plan.targets.length === 0) {
      throw new ToolError(
        'nothing-to-roll-back',
        `This task recorded nothing the rollback can restore${input.components ? ` for ${input.components.join(', ')}` : ''}${plan.manual.length ? `; manual steps only: ${plan.manual.map((m) => m.title).join('; ')}` : ''}.`,
        'Call plan-rollback (phase 7) or read the journal for the manual steps, and tell the human.',
      );
    }
    const targets = redactValue(plan.targets.map((t) => ({ ...t }))) as unknown as Record<string, unknown>[];
    const manual = plan.manual.map((m) => ({ component: m.component, title: m.title }));
    const components = input.components ?? [];
    const planHash = sha256Hex(canonicalJson({ targets, manual, components }));

    // Reuse a pending request for the same plan and reason; a different one supersedes it.
    let request = pendingRollbackRequest(state);
    if (request && new Date(request.expiresAt) <= ctx.now()) request = undefined;
    if (request && (request.planHash !== planHash || request.reason !== input.reason)) {
      await ctx.record('rollback.voided', { requestId: request.requestId, reason: 'superseded', detail: 'replaced by a newer rollback request (the plan or reason changed)' });
      request = undefined;
    }
    let requestId: string;
    let expiresAt: string;
    if (request) {
      requestId = request.requestId;
      expiresAt = request.expiresAt;
    } else {
      const made = rollbackRequestEvent(state, {
        reason: input.reason,
        components,
        targets,
        manual,
        planHash,
        expiresAfterMs: ctx.deployments.approvalExpiryMs,
        requestedBy: `${ctx.client.name} (agent)`,
        now: ctx.now(),
      });
      await ctx.record(made.event.type, made.event.data);
      requestId = made.requestId;
      expiresAt = made.expiresAt;
    }
    const shown = (targets as unknown as RestoreTarget[]).map(describeTarget);
    const base = { requestId, reason: input.reason, plan: shown, restored: [], failedCount: 0, notRestored: manual, durationMs: 0, expiresAt };

    if (ctx.elicit && ctx.client.elicitation) {
      const decision = await askHuman(ctx, state, requestId, input.reason, shown, manual, expiresAt);
      if (decision) {
        const verdict = await decideRollback(ctx.deployments, state.taskId, requestId, decision);
        // The human may have decided in the terminal meanwhile: the first decision counts.
        const decided = verdict.request?.status;
        if (decided === 'approved') return execute(ctx, await ctx.deployments.state(state.taskId), requestId, input.components);
        if (decided === 'rejected') return { ...base, status: 'rejected' as const, approval: approvalOf(verdict.request), message: `${verdict.message} Journal it and continue as the human directs.` };
        throw new ToolError('not-decided', verdict.message, 'Request the rollback again.');
      }
    }
    return {
      ...base,
      status: 'pending' as const,
      instructions: `Waiting for the human to confirm the rollback. Tell them why, and ask them to run \`npx deploy-mcp approve ${state.taskId}\` (it shows these steps and asks them to type "approve rollback"), or \`npx deploy-mcp reject ${state.taskId}\`, in their own terminal — do not run it yourself. Then call rollback again with requestId "${requestId}". The request expires at ${expiresAt}.`,
    };
  },
});

function approvalOf(request: RollbackRequest | undefined): Output['approval'] {
  const d = request?.decision;
  return d ? { channel: d.channel, approver: d.approver, at: d.ts, comment: d.comment } : undefined;
}

async function execute(ctx: ToolContext, state: TaskState, requestId: string, components: string[] | undefined): Promise<Output> {
  const request = state.rollbackRequests.get(requestId);
  if (!request) {
    throw new ToolError('unknown-request', `Task ${state.taskId} has no rollback request ${requestId}.`, 'Call rollback without requestId to make a request; the human then confirms it.');
  }
  if (components && canonicalJson([...components].sort()) !== canonicalJson([...request.components].sort())) {
    throw new ToolError(
      'request-mismatch',
      `Rollback request ${requestId} was confirmed for ${request.components.length ? request.components.join(', ') : 'every component'}, not for ${components.join(', ')}.`,
      'Call again with the same components (or none), or make a new request.',
    );
  }
  const base = {
    requestId,
    reason: request.reason,
    plan: (request.targets as unknown as RestoreTarget[]).map(describeTarget),
    restored: [] as RestoredItem[],
    failedCount: 0,
    notRestored: request.manual,
    durationMs: 0,
    expiresAt: request.expiresAt,
  };
  const parsed = z.array(StoredTarget).safeParse(request.targets);
  if (!parsed.success) {
    throw new ToolError('invalid-request', `Rollback request ${requestId} holds a restore plan that is not valid; nothing was changed.`, 'Make a new rollback request.');
  }
  const claim = await claimRollback(ctx.deployments, state.taskId, requestId);
  if (!claim.ok) {
    switch (claim.reason) {
      case 'pending':
        return {
          ...base,
          status: 'pending',
          instructions: `Still waiting for the human: \`npx deploy-mcp approve ${state.taskId}\` (or \`reject\`) in their own terminal. Call rollback with requestId "${requestId}" again afterwards.`,
          message: claim.message,
        };
      case 'rejected':
        return { ...base, status: 'rejected', approval: approvalOf(claim.request), message: `${claim.message} Nothing was restored.` };
      case 'executed':
        throw new ToolError('request-used', claim.message, 'Read the earlier result in the journal; to roll back again, make a new request.');
      case 'expired':
      case 'void':
        throw new ToolError('request-expired', claim.message, 'Make a new rollback request; the human confirms it again.');
      case 'ended':
        throw new ToolError('task-ended', claim.message, 'Start a new deployment task if more work is needed.');
      case 'not-human':
        throw new ToolError('not-approved', claim.message, 'Make a new rollback request and let the human confirm it.');
      default:
        throw new ToolError('unknown-request', claim.message, 'Call rollback without requestId to make a request.');
    }
  }
  const started = Date.now();
  // No abort signal: once a confirmed rollback starts, it runs to the end rather than stopping halfway.
  const restored = await executeRestore(ctx.aws(), parsed.data as unknown as RestoreTarget[], {
    progress: (done, total, message) => ctx.progress(done, total, message),
  });
  const durationMs = Date.now() - started;
  const failed = restored.filter((r) => !r.verified);
  return {
    ...base,
    status: failed.length ? 'failed' : 'rolled-back',
    restored,
    failedCount: failed.length,
    durationMs,
    approval: approvalOf(claim.request),
    message: failed.length
      ? `${failed.length} of ${restored.length} restore step(s) did not verify: ${failed.map((f) => `${f.target}: ${f.detail}`).join('; ')}. Stop and show the human exactly what was and was not restored; follow rollback.md for the rest. The task stays open.`
      : `Every target verified on its previous version. The task is now rolled-back.${base.notRestored.length ? ' Manual steps remain (see notRestored).' : ''}`,
  };
}

/** The elicitation channel: the human sees exactly what will be restored and confirms in the client. */
async function askHuman(
  ctx: ToolContext,
  state: TaskState,
  requestId: string,
  reason: string,
  plan: string[],
  manual: { component: string; title: string }[],
  expiresAt: string,
): Promise<HumanDecision | null> {
  const lines = [
    `Task #${state.taskId} "${state.title}" (${state.environment}/${state.component}), phase ${state.phase}: the agent asks to ROLL BACK.`,
    '',
    `Reason given: ${reason}`,
    '',
    `This will restore (${plan.length} step(s), each verified afterwards):`,
    ...plan.map((p, i) => `  ${i + 1}. ${p}`),
  ];
  if (manual.length) lines.push('', 'Not restored by this (manual follow-up):', ...manual.map((m) => `  - ${m.title}`));
  lines.push('', `Request ${requestId}, expires ${expiresAt}. The task ends as rolled-back when every step verifies.`);
  return askHumanThroughClient(ctx, { message: lines.join('\n'), approveTitle: 'Roll back now', approveDescription: 'Tick to restore the versions listed above' }, `rollback ${requestId}`);
}
