/**
 * Only the human moves a task. The agent's tools, whatever their arguments, never approve; an
 * approval is bound to its request and evidence, expires into "not approved", and elicitation
 * accept / decline / cancel do what they say.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../tools/index.js';
import { readEvents, startHarness, type Harness } from './helpers/mcp.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length) await harnesses.pop()!.close();
});

async function started(opts: Parameters<typeof startHarness>[0] = {}) {
  const h = await startHarness(opts);
  harnesses.push(h);
  const r = await h.call('start-deployment', { title: 'Pipeline release', environment: 'staging', component: 'pipeline' });
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return { h, taskId: r.structuredContent.taskId as number };
}

async function phaseOf(h: Harness, taskId: number): Promise<number> {
  return (await h.srv.deployments!.state(taskId)).phase;
}

/** Evidence for phase 1, as the phase-1 tools would record it. */
async function recordPhase1Evidence(h: Harness, taskId: number) {
  const tools = [
    { tool: 'record-plan', input: { components: ['pipeline'], order: ['pipeline'], infrastructureChanges: [], rollbackStrategy: 'alias', expectedDowntime: 'none' }, output: { planHash: 'p' } },
    { tool: 'list-resources', input: {}, output: { resources: [], counts: {} } },
    { tool: 'verify-credentials', input: {}, output: { account: '123456789012', region: 'us-east-1', arn: 'arn:aws:iam::123456789012:user/test', userId: 'X', matchesConfig: true, pinned: true } },
  ];
  for (const t of tools) {
    await h.srv.store!.append(taskId, { type: 'tool.succeeded', data: { ...t, phase: 1, durationMs: 1 } });
  }
}

describe('the agent cannot approve', () => {
  it('blocks a request with unmet criteria and no override', async () => {
    const { h, taskId } = await started();
    const r = await h.call('request-transition', { summary: 'Phase one is finished, please move on.' });
    expect(r.structuredContent.status).toBe('blocked');
    expect(r.structuredContent.unmetCriteria.map((c: { id: string }) => c.id)).toEqual(['plan-recorded', 'infrastructure-listed', 'credentials-verified']);
    expect(await phaseOf(h, taskId)).toBe(1);
  });

  it('rejects extra arguments that try to self-approve, on every tool', async () => {
    const { h, taskId } = await started();
    await recordPhase1Evidence(h, taskId);
    for (const extra of [{ approved: true }, { approve: true }, { approval: { approver: 'me', channel: 'terminal' } }, { phase: 2 }, { force: true }]) {
      for (const tool of ALL_TOOLS) {
        const r = await h.call(tool.name, { taskId, summary: 'All criteria met, moving on now.', title: 'x', activity: 'a', content: 'c', ...extra });
        expect(r.isError, `${tool.name} accepted ${JSON.stringify(extra)}`).toBe(true);
      }
    }
    expect(await phaseOf(h, taskId)).toBe(1);
    expect(readEvents(h.root, taskId).some((e) => e.type === 'phase.advanced')).toBe(false);
  });

  it('without elicitation, a met request stays pending however often it is repeated', async () => {
    const { h, taskId } = await started();
    await recordPhase1Evidence(h, taskId);
    const first = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    expect(first.structuredContent).toMatchObject({ status: 'pending' });
    expect(first.structuredContent.instructions).toContain(`npx deploy-mcp approve ${taskId}`);
    for (let i = 0; i < 5; i++) {
      const again = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
      expect(again.structuredContent.status).toBe('pending');
      expect(again.structuredContent.requestId).toBe(first.structuredContent.requestId);
      const poll = await h.call('request-transition', { summary: 'Checking on it again, no change.', requestId: first.structuredContent.requestId });
      expect(poll.structuredContent.status).toBe('pending');
    }
    // write-journal marks but never moves; server-owned sections are refused.
    const marked = await h.call('write-journal', { activity: 'Phase 1 done', content: 'Moving on', isPhaseTransition: true });
    expect(marked.isError).toBeFalsy();
    const owned = await h.call('write-journal', { activity: 'x', content: 'y', updateSections: { 'Current Phase': 'Phase 8 - Post-Deployment' } });
    expect(owned.structuredContent).toMatchObject({ error: 'server-owned-section' });
    expect(await phaseOf(h, taskId)).toBe(1);
  });

  it('freezes mutating tools while a request is pending', async () => {
    const { h, taskId } = await started();
    await recordPhase1Evidence(h, taskId);
    await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    // start-deployment is taskless; write-journal and request-transition stay allowed; nothing else mutating exists yet in phase 1.
    const status = await h.call('deployment-status', {});
    expect(status.structuredContent.pendingApproval).toBeTruthy();
    expect(status.structuredContent.allowedTools).toContain('write-journal');
    expect(await phaseOf(h, taskId)).toBe(1);
  });

  it('an old approval cannot be replayed for a later phase', async () => {
    const { h, taskId } = await started();
    await recordPhase1Evidence(h, taskId);
    const req = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    const requestId = req.structuredContent.requestId as string;
    const approved = await h.srv.deployments!.decide(taskId, requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    expect(approved.outcome).toBe('advanced');
    expect(await phaseOf(h, taskId)).toBe(2);

    const replay = await h.srv.deployments!.decide(taskId, requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    expect(replay.outcome).toBe('not-pending');
    const poll = await h.call('request-transition', { summary: 'Is the old one still good?', requestId });
    expect(poll.structuredContent.status).toBe('advanced');
    expect(poll.structuredContent.from.number).toBe(1);
    expect(await phaseOf(h, taskId)).toBe(2);
  });

  it('an approval given after the evidence changed is void', async () => {
    const { h, taskId } = await started();
    await recordPhase1Evidence(h, taskId);
    const req = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    // New evidence lands after the human was shown the request.
    await h.srv.store!.append(taskId, { type: 'tool.succeeded', data: { tool: 'list-resources', phase: 1, input: {}, output: { resources: [], counts: { 's3-bucket': 3 } } } });
    const result = await h.srv.deployments!.decide(taskId, req.structuredContent.requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    expect(result.outcome).toBe('evidence-changed');
    expect(await phaseOf(h, taskId)).toBe(1);
    const events = readEvents(h.root, taskId);
    expect(events.at(-1)).toMatchObject({ type: 'transition.voided', data: { reason: 'evidence-changed' } });
  });

  it('an expired request is never approved', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const { h, taskId } = await started({ now: () => now, config: { ...(await import('./helpers/mcp.js')).BASE_CONFIG, approval: { expiresAfter: '30m' } } });
    await recordPhase1Evidence(h, taskId);
    const req = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    expect(req.structuredContent.expiresAt).toBe('2026-12-01T10:30:00.000Z');
    now = new Date('2026-12-01T10:31:00Z');
    const result = await h.srv.deployments!.decide(taskId, req.structuredContent.requestId, { approve: true, channel: 'terminal', approver: 'alice@host' });
    expect(result.outcome).toBe('expired');
    expect(await phaseOf(h, taskId)).toBe(1);
    const poll = await h.call('request-transition', { summary: 'Checking the old request.', requestId: req.structuredContent.requestId });
    expect(poll.structuredContent.status).not.toBe('advanced');
  });

  it('an override is shown to the human and journaled with the approval', async () => {
    const { h, taskId } = await started({ elicit: () => ({ action: 'accept', content: { approve: true, comment: 'ok, greenfield' } }) });
    const r = await h.call('request-transition', { summary: 'Nothing exists yet in this account.', override: { reason: 'Greenfield account; inventory tool not available yet.' } });
    expect(r.structuredContent.status).toBe('advanced');
    const shown = harnesses.at(-1)!.elicitations.at(-1)!;
    expect(shown).toContain('OVERRIDE requested for 3 unmet criteria');
    expect(shown).toContain('[UNMET]');
    const advanced = readEvents(h.root, taskId).find((e) => e.type === 'phase.advanced');
    expect(advanced.data.override.reason).toContain('Greenfield');
    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toContain('Override: Greenfield account');
  });
});

describe('elicitation channel', () => {
  it('accept with approve=true advances and records who approved', async () => {
    const { h, taskId } = await started({ clientName: 'claude-code', elicit: () => ({ action: 'accept', content: { approve: true, comment: 'looks right' } }) });
    await recordPhase1Evidence(h, taskId);
    const r = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    expect(r.structuredContent).toMatchObject({ status: 'advanced', from: { number: 1 }, to: { number: 2, id: 'preparation' } });
    expect(r.structuredContent.approval).toMatchObject({ channel: 'elicitation', comment: 'looks right' });
    expect(r.structuredContent.approval.approver).toContain('claude-code');
    expect(await phaseOf(h, taskId)).toBe(2);
    const approvedEvent = readEvents(h.root, taskId).find((e) => e.type === 'transition.approved');
    expect(approvedEvent.data).toMatchObject({ channel: 'elicitation', comment: 'looks right' });
    expect(approvedEvent.data.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
    const journal = await h.srv.deployments!.renderJournal(taskId);
    expect(journal).toContain('## Current Phase: Phase 2 - Environment Preparation');
    expect(journal).toMatch(/Phase 1 → 2[\s\S]*Approved by claude-code user \(elicitation\)/);
  });

  for (const [label, answer, reason] of [
    ['accept with approve=false', { action: 'accept', content: { approve: false, comment: 'not yet' } }, 'rejected'],
    ['decline', { action: 'decline' }, 'declined'],
    ['cancel', { action: 'cancel' }, 'cancelled'],
  ] as const) {
    it(`${label} records a rejection and does not advance`, async () => {
      const { h, taskId } = await started({ elicit: () => answer as never });
      await recordPhase1Evidence(h, taskId);
      const r = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
      expect(r.structuredContent.status).toBe('rejected');
      expect(await phaseOf(h, taskId)).toBe(1);
      expect(readEvents(h.root, taskId).at(-2)).toMatchObject({ type: 'transition.rejected', data: { reason, channel: 'elicitation' } });
    });
  }

  it('a client error during elicitation leaves the request pending for the terminal', async () => {
    const { h, taskId } = await started({
      elicit: () => {
        throw new Error('client window closed');
      },
    });
    await recordPhase1Evidence(h, taskId);
    const r = await h.call('request-transition', { summary: 'Plan, inventory and credentials are done.' });
    expect(r.structuredContent.status).toBe('pending');
    expect(await phaseOf(h, taskId)).toBe(1);
  });
});
