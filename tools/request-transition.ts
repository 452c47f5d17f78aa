import { z } from 'zod';
import { askHumanThroughClient } from '../src/workflow/ask-human.js';
import type { CriterionResult } from '../src/workflow/criteria.js';
import { evidenceHash } from '../src/workflow/criteria.js';
import { describeTarget, nextPhase, requestEvent, transitionPhrase, type HumanDecision } from '../src/workflow/approvals.js';
import { phaseRef } from '../src/workflow/phases.js';
import { pendingRequest, type TaskState, type TransitionRequest } from '../src/workflow/task-state.js';
import { ToolError, defineTool } from '../src/tool.js';
import { PhaseRefOutput, TaskIdInput } from '../src/tool-schemas.js';
import type { ToolContext } from '../src/tool-context.js';


const Output = z.object({
  status: z.enum(['advanced', 'pending', 'rejected', 'blocked']),
  taskId: z.number(),
  from: PhaseRefOutput,
  to: PhaseRefOutput.nullable(),
  unmetCriteria: z.array(z.object({ id: z.string(), text: z.string(), evidence: z.string() })),
  requestId: z.string().optional(),
  approval: z
    .object({
      requestId: z.string(),
      channel: z.string().optional(),
      approver: z.string().optional(),
      at: z.string(),
      comment: z.string().optional(),
      override: z.object({ reason: z.string() }).optional(),
    })
    .optional(),
  reason: z.string().optional(),
  instructions: z.string().optional(),
  expiresAt: z.string().optional(),
});
type Output = z.infer<typeof Output>;

export default defineTool({
  name: 'request-transition',
  title: 'Request a phase transition',
  description:
    "Asks the human to approve moving the task to the next phase (or completing it after phase 8). The server checks the exit criteria itself; unmet criteria block the request unless override.reason is given, and the human then sees each unmet criterion. Approval comes only from the human: through the client's form when it supports elicitation, otherwise `npx deploy-mcp approve <taskId>` in their terminal. Call again with requestId to see the outcome of a pending request.",
  phases: 'any',
  allowWhilePending: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z
    .object({
      taskId: TaskIdInput,
      summary: z.string().trim().min(10).max(4_000).describe('What was done in this phase and why it is ready to move on'),
      override: z
        .object({ reason: z.string().trim().min(10).max(2_000).describe('Why the human should approve despite unmet criteria') })
        .strict()
        .optional(),
      requestId: z.string().regex(/^tr-[0-9a-f]{12}$/).optional().describe('Check on an earlier request instead of making a new one'),
    })
    .strict(),
  output: Output,
  summarize: (o) =>
    [
      `${o.status.toUpperCase()}: phase ${o.from.number} (${o.from.name}) → ${o.to ? `phase ${o.to.number} (${o.to.name})` : 'task complete'}`,
      o.approval?.approver ? `Decided by ${o.approval.approver} via ${o.approval.channel}${o.approval.comment ? `: "${o.approval.comment}"` : ''}` : '',
      o.unmetCriteria.length ? `Unmet criteria:\n${o.unmetCriteria.map((c) => `  - ${c.id}: ${c.evidence}`).join('\n')}` : '',
      o.reason ?? '',
      o.instructions ?? '',
    ]
      .filter(Boolean)
      .join('\n'),
  async run(input, ctx) {
    const state = ctx.task!;
    if (input.requestId) return reportOn(state, input.requestId, ctx);

    const criteria = ctx.deployments.criteria(state);
    const unmet = criteria.filter((c) => !c.met);
    const base = {
      taskId: state.taskId,
      from: phaseRef(state.phase),
      to: nextPhase(state.phase) ? phaseRef(nextPhase(state.phase)!) : null,
      unmetCriteria: unmet.map(({ id, text, evidence }) => ({ id, text, evidence })),
    };
    if (unmet.length && !input.override) {
      return {
        ...base,
        status: 'blocked' as const,
        reason: `${unmet.length} exit criteri${unmet.length === 1 ? 'on is' : 'a are'} unmet. Meet them, or — only if the human should decide anyway — call again with override.reason.`,
      };
    }

    // Reuse a pending request for the same evidence; replace one whose evidence has changed.
    let request = pendingRequest(state, ctx.now());
    const currentHash = evidenceHash(criteria);
    if (request && (request.evidenceHash !== currentHash || request.summary !== input.summary || request.override?.reason !== input.override?.reason)) {
      await ctx.record('transition.voided', {
        requestId: request.requestId,
        reason: 'superseded',
        detail: 'replaced by a newer request (the evidence, summary or override changed)',
      });
      request = undefined;
    }
    let requestId: string;
    let expiresAt: string;
    if (request) {
      requestId = request.requestId;
      expiresAt = request.expiresAt;
    } else {
      const made = requestEvent(state, criteria, {
        summary: input.summary,
        override: input.override,
        expiresAfterMs: ctx.deployments.approvalExpiryMs,
        requestedBy: `${ctx.client.name} (agent)`,
        now: ctx.now(),
      });
      await ctx.record(made.event.type, made.event.data);
      requestId = made.requestId;
      expiresAt = made.expiresAt;
    }

    if (ctx.elicit && ctx.client.elicitation) {
      const decision = await askThroughClient(ctx, state, criteria, input.summary, input.override, requestId);
      if (decision) {
        const result = await ctx.deployments.decide(state.taskId, requestId, decision);
        return outcomeToOutput(base, result.outcome, result.message, result.state.requests.get(requestId), expiresAt);
      }
    }
    return {
      ...base,
      status: 'pending' as const,
      requestId,
      expiresAt,
      instructions: `Waiting for the human. Ask them to run \`npx deploy-mcp approve ${state.taskId}\` (or \`npx deploy-mcp reject ${state.taskId}\`) in their own terminal — do not run it yourself. Then call request-transition with requestId "${requestId}" or deployment-status. The request expires at ${expiresAt}; if the evidence changes before approval it becomes void.`,
    };
  },
});

function outcomeToOutput(
  base: Omit<Output, 'status'>,
  outcome: string,
  message: string,
  request: TransitionRequest | undefined,
  expiresAt: string,
): Output {
  const approval = request?.decision
    ? {
        requestId: request.requestId,
        channel: request.decision.channel,
        approver: request.decision.approver,
        at: request.decision.ts,
        comment: request.decision.comment,
        override: request.override,
      }
    : undefined;
  switch (outcome) {
    case 'advanced':
    case 'completed':
      return { ...base, status: 'advanced', requestId: request?.requestId, approval, reason: message };
    case 'rejected':
      return { ...base, status: 'rejected', requestId: request?.requestId, approval, reason: message };
    default:
      return { ...base, status: 'blocked', requestId: request?.requestId, approval, reason: message, expiresAt };
  }
}

async function reportOn(state: TaskState, requestId: string, ctx: ToolContext): Promise<Output> {
  const request = state.requests.get(requestId);
  if (!request) {
    throw new ToolError('unknown-request', `Task ${state.taskId} has no transition request ${requestId}.`, 'Call request-transition without requestId to make a request.');
  }
  const base = {
    taskId: state.taskId,
    from: phaseRef(request.from),
    to: request.to ? phaseRef(request.to) : null,
    unmetCriteria: request.criteria.filter((c) => !c.met).map(({ id, text, evidence }) => ({ id, text, evidence })),
    requestId,
    expiresAt: request.expiresAt,
  };
  if (request.status === 'pending') {
    if (new Date(request.expiresAt) <= ctx.now()) {
      return { ...base, status: 'blocked', reason: `The request expired at ${request.expiresAt} without a decision. Request the transition again.` };
    }
    if (request.from !== state.phase) {
      return { ...base, status: 'blocked', reason: 'The task is no longer in the phase this request was made in.' };
    }
    return {
      ...base,
      status: 'pending',
      instructions: `Still waiting for the human: \`npx deploy-mcp approve ${state.taskId}\` or \`reject\` in their terminal.`,
    };
  }
  const outcome = request.status === 'approved' ? 'advanced' : request.status === 'rejected' ? 'rejected' : 'void';
  const reason =
    request.status === 'void'
      ? `The request is void: ${request.decision?.reason ?? 'superseded'}. Request the transition again.`
      : `${request.status === 'approved' ? 'Approved' : 'Rejected'} by ${request.decision?.approver} via ${request.decision?.channel}.`;
  return outcomeToOutput(base, outcome, reason, request, request.expiresAt);
}

/** The elicitation channel: the client shows the human a form; the agent never sees it first. */
async function askThroughClient(
  ctx: ToolContext,
  state: TaskState,
  criteria: CriterionResult[],
  summary: string,
  override: { reason: string } | undefined,
  requestId: string,
): Promise<HumanDecision | null> {
  const from = phaseRef(state.phase);
  const to = describeTarget(nextPhase(state.phase));
  const lines = [
    `Task #${state.taskId} "${state.title}" (${state.environment}/${state.component}): ${transitionPhrase(from.number, nextPhase(state.phase))}?`,
    '',
    `Agent's summary: ${summary}`,
    '',
    'Exit criteria (checked by the server):',
    ...criteria.map((c) => `${c.met ? '[met]  ' : '[UNMET]'} ${c.text}\n         ${c.evidence}`),
  ];
  if (override) {
    lines.push('', `OVERRIDE requested for ${criteria.filter((c) => !c.met).length} unmet criteria. Reason given: ${override.reason}`);
  }
  lines.push('', `Request ${requestId}. Approve only if you have checked the evidence.`);
  return askHumanThroughClient(ctx, { message: lines.join('\n'), approveTitle: `Approve: ${to}`, approveDescription: 'Tick to approve this transition' }, `${requestId}`);
}
