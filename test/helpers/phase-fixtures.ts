/**
 * Fixtures for the phase 5-8 tests: a task moved to a phase with recorded evidence of what was
 * deployed (deploy-lambda outcomes appended as events, since phase 4's tools are not under test
 * here), on a real server with a real MCP client.
 */
import { expect } from 'vitest';
import { BASE_CONFIG, forcePhase, startHarness, type Harness } from './mcp.js';

export interface DeployedFixture {
  function: string;
  alias?: string;
  newVersion?: string;
  previousVersion?: string | null;
  codeSha256?: string;
}

/** Appends the successful deploy-lambda outcomes phase 4 would have recorded. */
export async function recordDeployments(h: Harness, taskId: number, deployed: DeployedFixture[]): Promise<void> {
  for (const d of deployed) {
    await h.srv.store!.append(taskId, {
      type: 'tool.succeeded',
      data: {
        tool: 'deploy-lambda',
        phase: 4,
        input: { function: d.function, alias: d.alias ?? 'live' },
        output: {
          function: d.function,
          newVersion: d.newVersion ?? '2',
          previousVersion: d.previousVersion === undefined ? '1' : d.previousVersion,
          alias: d.alias ?? 'live',
          codeSha256: d.codeSha256 ?? 'c0ffee'.repeat(7).slice(0, 44),
        },
        summary: `deployed ${d.function}`,
        durationMs: 1200,
      },
    });
  }
}

/** Appends any tool outcome (evidence of a tool that is not under test). */
export async function recordOutcome(
  h: Harness,
  taskId: number,
  tool: string,
  phase: number,
  input: Record<string, unknown>,
  output: Record<string, unknown> | null,
  error?: { code: string; message: string; nextStep?: string },
): Promise<void> {
  await h.srv.store!.append(taskId, {
    type: output ? 'tool.succeeded' : 'tool.failed',
    data: { tool, phase, input, ...(output ? { output } : { error }), durationMs: 10 },
  });
}

export interface PhaseTask {
  h: Harness;
  taskId: number;
}

/** A task for `component` in `phase`, with `deployed` functions recorded in phase 4 on the way. */
export async function taskInPhase(
  phase: number,
  opts: { config?: unknown; component?: string; deployed?: DeployedFixture[]; harness?: Parameters<typeof startHarness>[0] } = {},
): Promise<PhaseTask> {
  const h = await startHarness({ config: opts.config ?? BASE_CONFIG, ...(opts.harness ?? {}) });
  const r = await h.call('start-deployment', { title: 'Orders release', environment: 'staging', component: opts.component ?? 'orders' });
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  const taskId = r.structuredContent.taskId as number;
  if (phase >= 4) {
    await forcePhase(h.srv, taskId, 4);
    if (opts.deployed?.length) await recordDeployments(h, taskId, opts.deployed);
  }
  await forcePhase(h.srv, taskId, phase);
  return { h, taskId };
}

/** Criteria of the task's current phase as `{id: met}`. */
export async function criteria(h: Harness, taskId: number): Promise<Record<string, boolean>> {
  const s = await h.call('deployment-status', { taskId });
  return Object.fromEntries((s.structuredContent.criteria as { id: string; met: boolean }[]).map((c) => [c.id, c.met]));
}

let requestCounter = 0;

/**
 * Moves a task one phase on as a human decision would: a transition request approved by
 * `approver` (optionally after one rejected by `rejectedBy`). Test fixture, not a tool.
 */
export async function advance(
  h: Harness,
  taskId: number,
  opts: { approver: string; channel?: string; comment?: string; rejectedBy?: { approver: string; comment: string }; override?: { reason: string }; unmet?: string[] },
): Promise<void> {
  const state = await h.srv.deployments!.state(taskId);
  const from = state.phase;
  const to = from === 8 ? null : from + 1;
  const append: { type: string; data: Record<string, unknown> }[] = [];
  const request = (id: string) => ({
    type: 'transition.requested',
    data: { requestId: id, from, to, summary: `phase ${from} done`, evidenceHash: 'e'.repeat(64), criteria: [], unmet: opts.unmet ?? [], ...(opts.override ? { override: opts.override } : {}), expiresAt: '2999-01-01T00:00:00.000Z', requestedBy: 'agent' },
  });
  if (opts.rejectedBy) {
    const id = `tr-rej-${String(++requestCounter).padStart(6, '0')}`;
    append.push(request(id), { type: 'transition.rejected', data: { requestId: id, channel: opts.channel ?? 'terminal', approver: opts.rejectedBy.approver, comment: opts.rejectedBy.comment } });
  }
  const id = `tr-ok-${String(++requestCounter).padStart(6, '0')}`;
  const decision = { requestId: id, channel: opts.channel ?? 'terminal', approver: opts.approver, ...(opts.comment ? { comment: opts.comment } : {}) };
  append.push(request(id), { type: 'transition.approved', data: decision }, { type: 'phase.advanced', data: { from, to, ...decision, ...(opts.override ? { override: opts.override } : {}) } });
  await h.srv.store!.transact(taskId, () => ({ append, result: null }));
}
