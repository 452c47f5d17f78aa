import { z } from 'zod';
import { defineTool } from '../src/tool.js';
import { CriterionOutput, PhaseRefOutput, READ_ONLY, TaskIdInput } from '../src/tool-schemas.js';
import { allowedPhaseNumbers } from '../src/workflow/guard.js';
import { phaseRef } from '../src/workflow/phases.js';
import { pendingRequest } from '../src/workflow/task-state.js';
import { describeTarget } from '../src/workflow/approvals.js';

export default defineTool({
  name: 'deployment-status',
  title: 'Deployment status',
  description:
    "Shows a task's current phase, each exit criterion with the evidence that decides it, the tools allowed now, any transition waiting for the human, and the next step.",
  phases: 'always',
  allowWhenEnded: true,
  skipAudit: true,
  annotations: READ_ONLY,
  input: z.object({ taskId: TaskIdInput }).strict(),
  output: z.object({
    taskId: z.number(),
    title: z.string(),
    environment: z.string(),
    component: z.string(),
    phase: PhaseRefOutput,
    status: z.string(),
    criteria: z.array(CriterionOutput),
    allowedTools: z.array(z.string()),
    pendingApproval: z
      .object({ requestId: z.string(), to: z.string(), requestedAt: z.string(), expiresAt: z.string(), unmetCriteria: z.array(z.string()), override: z.object({ reason: z.string() }).optional() })
      .optional(),
    lastDecision: z
      .object({ requestId: z.string(), decision: z.string(), by: z.string().optional(), at: z.string(), comment: z.string().optional(), reason: z.string().optional() })
      .optional(),
    timeline: z.array(
      z.object({ phase: PhaseRefOutput, enteredAt: z.string(), leftAt: z.string().optional(), approvedBy: z.string().optional(), channel: z.string().optional() }),
    ),
    pinnedAccount: z.object({ account: z.string(), region: z.string() }).optional(),
    branch: z.string(),
    journalPath: z.string(),
    eventCount: z.number(),
    nextStep: z.string(),
  }),
  summarize: (o) =>
    [
      `Task #${o.taskId} ${o.title} — ${o.status}, phase ${o.phase.number} (${o.phase.name})`,
      ...o.criteria.map((c) => `  ${c.met ? '[x]' : '[ ]'} ${c.id}: ${c.evidence}`),
      o.pendingApproval ? `Waiting for the human on ${o.pendingApproval.requestId} (expires ${o.pendingApproval.expiresAt}).` : '',
      `Allowed tools: ${o.allowedTools.join(', ')}`,
      `Next: ${o.nextStep}`,
    ]
      .filter(Boolean)
      .join('\n'),
  async run(_input, ctx) {
    const state = ctx.task!;
    const criteria = state.status === 'active' ? ctx.deployments.criteria(state) : [];
    const pending = state.status === 'active' ? pendingRequest(state, ctx.now()) : undefined;
    const allowedTools =
      state.status === 'active'
        ? ctx.registry
            .filter((t) => t.phases === 'always' || t.phases === 'any' || allowedPhaseNumbers(t.phases).includes(state.phase))
            .filter((t) => !pending || t.annotations.readOnlyHint || t.allowWhilePending)
            .map((t) => t.name)
        : ctx.registry.filter((t) => t.allowWhenEnded || t.taskless).map((t) => t.name);
    const lastId = state.requestOrder.at(-1);
    const last = lastId ? state.requests.get(lastId) : undefined;
    const unmet = criteria.filter((c) => !c.met);
    let nextStep: string;
    if (state.status !== 'active') nextStep = `The task is ${state.status}. Start a new one with start-deployment when needed.`;
    else if (pending)
      nextStep = `Wait for the human to decide on ${pending.requestId}: in the client's prompt, or with \`npx deploy-mcp approve ${state.taskId}\` in their terminal. Then call deployment-status again.`;
    else if (unmet.length) nextStep = `Work on the unmet criteria: ${unmet.map((c) => `${c.id} (${c.text})`).join('; ')}.`;
    else nextStep = `All exit criteria are met: call request-transition with a summary to ask the human to ${describeTarget(state.phase < 8 ? state.phase + 1 : null)}.`;
    return {
      taskId: state.taskId,
      title: state.title,
      environment: state.environment,
      component: state.component,
      phase: phaseRef(state.phase),
      status: state.status,
      criteria: criteria.map(({ id, text, met, evidence }) => ({ id, text, met, evidence })),
      allowedTools,
      pendingApproval: pending
        ? {
            requestId: pending.requestId,
            to: describeTarget(pending.to),
            requestedAt: pending.ts,
            expiresAt: pending.expiresAt,
            unmetCriteria: pending.unmet,
            override: pending.override,
          }
        : undefined,
      lastDecision:
        last && last.decision
          ? { requestId: last.requestId, decision: last.status, by: last.decision.approver, at: last.decision.ts, comment: last.decision.comment, reason: last.decision.reason }
          : undefined,
      timeline: state.visits.map((v) => ({
        phase: phaseRef(v.number),
        enteredAt: v.enteredAt,
        leftAt: v.leftAt,
        approvedBy: v.exit?.approver,
        channel: v.exit?.channel,
      })),
      pinnedAccount: state.pinned ? { account: state.pinned.account, region: state.pinned.region } : undefined,
      branch: state.branch,
      journalPath: ctx.deployments.journalPath(state.taskId),
      eventCount: state.eventCount,
      nextStep,
    };
  },
});
