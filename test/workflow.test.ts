/** The workflow rules as pure functions: criteria from evidence, the guard, decisions. */
import { describe, expect, it } from 'vitest';
import { makeEvent, type StoredEvent } from '../src/state/event-log.js';
import { defineTool } from '../src/tool.js';
import { decideRequest, requestEvent } from '../src/workflow/approvals.js';
import { evaluateCriteria, evidenceHash, type CriteriaContext } from '../src/workflow/criteria.js';
import { checkMode, checkTask } from '../src/workflow/guard.js';
import { PHASES } from '../src/workflow/phases.js';
import { foldEvents } from '../src/workflow/task-state.js';
import { z } from 'zod';

const CTX: CriteriaContext = { preparationChecks: ['quality', 'test', 'build'], integrationConfigured: true, configuredResources: 2 };

function log(...specs: [string, Record<string, unknown>][]): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const [type, data] of [['task.started', { taskId: 1, title: 't', environment: 'staging', component: 'c', branch: 'b' }] as [string, Record<string, unknown>], ...specs]) {
    events.push(makeEvent(events.at(-1) ?? null, type, data));
  }
  return events;
}
const ok = (tool: string, phase: number, output: Record<string, unknown> = {}, input: Record<string, unknown> = {}) =>
  ['tool.succeeded', { tool, phase, input, output }] as [string, Record<string, unknown>];
const failed = (tool: string, phase: number, message = 'boom') => ['tool.failed', { tool, phase, input: {}, error: { code: 'x', message } }] as [string, Record<string, unknown>];
const at = (phase: number) => ['phase.advanced', { from: phase - 1, to: phase, requestId: 'r', approver: 'a', channel: 'fixture' }] as [string, Record<string, unknown>];
const upTo = (phase: number) => Array.from({ length: phase - 1 }, (_, i) => at(i + 2));

function verdicts(events: StoredEvent[], phase?: number) {
  const state = foldEvents(events);
  return Object.fromEntries(evaluateCriteria(state, phase ?? state.phase, CTX).map((c) => [c.id, c.met]));
}

describe('exit criteria', () => {
  it('every phase has an evaluator for each criterion, and nothing is met on an empty log', () => {
    for (const p of PHASES) {
      const state = foldEvents(log(...upTo(p.number)));
      const results = evaluateCriteria(state, p.number, CTX);
      expect(results.map((r) => r.id)).toEqual(p.criteria.map((c) => c.id));
      expect(results.every((r) => !r.met && r.evidence.length > 0)).toBe(true);
    }
  });

  it('phase 1: plan, listing and matching credentials', () => {
    expect(verdicts(log(ok('record-plan', 1), ok('list-resources', 1, { counts: { 's3-bucket': 2 } }), ok('verify-credentials', 1, { matchesConfig: true })))).toEqual({
      'plan-recorded': true,
      'infrastructure-listed': true,
      'credentials-verified': true,
    });
    expect(verdicts(log(ok('verify-credentials', 1, { matchesConfig: false, account: '999' })))['credentials-verified']).toBe(false);
    // The latest run decides: a later failure unmeets it.
    expect(verdicts(log(ok('record-plan', 1), failed('record-plan', 1)))['plan-recorded']).toBe(false);
  });

  it('phase 2: every configured check passed in its latest run; backup waived for greenfield plans', () => {
    const checks = (results: [string, boolean][]) => ok('run-checks', 2, { results: results.map(([name, passed]) => ({ name, passed, exitCode: passed ? 0 : 1 })) });
    const base = [...upTo(2)];
    expect(verdicts(log(...base, checks([['quality', true], ['test', true]])))['checks-passed']).toBe(false);
    expect(verdicts(log(...base, checks([['quality', true], ['test', false], ['build', true]])))['checks-passed']).toBe(false);
    expect(verdicts(log(...base, checks([['quality', true], ['test', false], ['build', true]]), checks([['test', true]])))['checks-passed']).toBe(true);
    expect(verdicts(log(...base, checks([['quality', true], ['test', true], ['build', true]]), checks([['build', false]])))['checks-passed']).toBe(false);
    expect(verdicts(log(...base))['backup-taken']).toBe(false);
    expect(verdicts(log(ok('record-plan', 1, {}, { greenfield: true, components: [] }), ...base))['backup-taken']).toBe(true);
    expect(verdicts(log(...base, ok('check-config', 2, { clean: false, findings: [{}] })))['config-clean']).toBe(false);
  });

  it('phase 3: only a full run with zero discrepancies counts', () => {
    const base = upTo(3);
    expect(verdicts(log(...base, ok('verify-infrastructure', 3, { verified: true, discrepancyCount: 0, results: [] }, { resources: ['x'] })))['infrastructure-verified']).toBe(false);
    expect(verdicts(log(...base, ok('verify-infrastructure', 3, { verified: false, discrepancyCount: 2, results: [] })))['infrastructure-verified']).toBe(false);
    expect(verdicts(log(...base, ok('verify-infrastructure', 3, { verified: true, discrepancyCount: 0, results: [{}, {}] })))['infrastructure-verified']).toBe(true);
  });

  it('phase 4: components from the plan, smoke tests, and logs checked after the latest deploy', () => {
    const plan = ok('record-plan', 1, {}, { components: ['ingest', 'assets'] });
    const deployIngest = ok('deploy-lambda', 4, { function: 'ingest' }, { function: 'ingest' });
    const upload = ok('upload-artifacts', 4, { objects: [] }, { component: 'assets' });
    const smoke = ok('smoke-test', 4, { allPassed: true, results: [{ passed: true }] });
    const logs = ok('check-logs', 4, { errorCount: 0 });
    expect(verdicts(log(plan, ...upTo(4), deployIngest, upload, smoke, logs))).toEqual({ 'components-deployed': true, 'smoke-passed': true, 'logs-clean': true });
    expect(verdicts(log(plan, ...upTo(4), deployIngest, smoke, logs))['components-deployed']).toBe(false);
    expect(verdicts(log(plan, ...upTo(4), deployIngest, logs, upload))['logs-clean']).toBe(false);
    expect(verdicts(log(plan, ...upTo(4), ok('smoke-test', 4, { allPassed: false, results: [{ passed: false }] })))['smoke-passed']).toBe(false);
  });

  it('phases 5 to 8', () => {
    expect(
      verdicts(
        log(
          ...upTo(5),
          ok('run-checks', 5, { results: [{ name: 'integration', passed: true, exitCode: 0 }] }),
          ok('security-audit', 5, { highCount: 0 }),
          ok('measure-performance', 5, { withinThresholds: true }),
          ok('cost-check', 5, { available: false, reason: 'Cost Explorer is not enabled' }),
        ),
      ),
    ).toEqual({ 'integration-passed': true, 'security-clean': true, 'performance-ok': true, 'cost-checked': true });
    expect(verdicts(log(...upTo(5), ok('cost-check', 5, { available: false })))['cost-checked']).toBe(false);
    const deployed = ok('deploy-lambda', 4, { function: 'ingest' }, { function: 'ingest' });
    const v6 = verdicts(
      log(...upTo(4), deployed, at(5), at(6), ok('create-alarm', 6, { alarmName: 'ingest-errors' }, { function: 'ingest' }), ok('create-dashboard', 6), ok('test-alarm', 6, { passed: true }, { alarmName: 'ingest-errors' }), ok('write-runbook', 6)),
    );
    expect(v6).toEqual({ 'alarms-per-function': true, 'dashboard-created': true, 'alarms-tested': true, 'runbook-written': true });
    expect(verdicts(log(...upTo(7), ok('plan-rollback', 7), ok('test-rollback', 7, { passed: true, durationMs: 1200 })))).toEqual({ 'rollback-planned': true, 'rollback-rehearsed': true });
    expect(verdicts(log(...upTo(8), ok('generate-report', 8), ok('tag-release', 8), ok('archive-artifacts', 8)))).toEqual({ 'report-generated': true, 'release-tagged': true, 'artifacts-archived': true });
  });

  it('the evidence hash changes when a deciding event changes, and not otherwise', () => {
    const ev = log(ok('record-plan', 1), ['journal.entry', { activity: 'x', content: 'y' }], ok('record-plan', 1));
    const h = (n: number) => evidenceHash(evaluateCriteria(foldEvents(ev.slice(0, n)), 1, CTX));
    expect(h(3)).toBe(h(2)); // a journal entry is not evidence
    expect(h(4)).not.toBe(h(3)); // a newer record-plan is
  });
});

describe('guard', () => {
  const tool = (phases: readonly (1 | 2 | 3 | 4 | 5 | 6 | 7 | 8)[] | 'any', readOnly = false, extra = {}) =>
    defineTool({
      name: 'probe',
      title: 'Probe',
      description: 'probe',
      phases,
      annotations: { readOnlyHint: readOnly, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      input: z.object({}),
      output: z.object({}),
      run: async () => ({}),
      ...extra,
    });

  it('refuses outside the declared phases and names the way forward', () => {
    const state = foldEvents(log(...upTo(2)));
    const r = checkTask(tool([3]), state)!;
    expect(r).toMatchObject({ refused: true, reason: 'phase', currentPhase: { number: 2 }, allowedPhases: [{ number: 3 }] });
    expect(r.nextStep).toMatch(/request-transition/);
    expect(checkTask(tool([1]), state)!.nextStep).toMatch(/phase is over/);
    expect(checkTask(tool([2]), state)).toBeNull();
  });

  it('read-only mode refuses tools that are not read-only', () => {
    expect(checkMode(tool('any'), true)?.reason).toBe('read-only');
    expect(checkMode(tool('any', true), true)).toBeNull();
  });

  it('freezes mutating tools while a transition request is pending, but not reads or journaling', () => {
    const events = log(['transition.requested', { requestId: 'tr-1', from: 1, to: 2, summary: 's', evidenceHash: 'h', criteria: [], unmet: [], expiresAt: '2999-01-01T00:00:00Z' }]);
    const state = foldEvents(events);
    expect(checkTask(tool('any'), state)?.reason).toBe('pending-approval');
    expect(checkTask(tool('any', true), state)).toBeNull();
    expect(checkTask(tool('any', false, { allowWhilePending: true }), state)).toBeNull();
    // An expired request no longer freezes anything.
    expect(checkTask(tool('any'), state, new Date('3000-01-01T00:00:00Z'))).toBeNull();
  });

  it('refuses every tool on an ended task unless it says it reads ended tasks', () => {
    const state = foldEvents(log(...upTo(8), ['phase.advanced', { from: 8, to: null, requestId: 'r', approver: 'a', channel: 'c' }]));
    expect(state.status).toBe('complete');
    expect(checkTask(tool('any'), state)?.reason).toBe('phase');
    expect(checkTask(tool('any', true, { allowWhenEnded: true }), state)).toBeNull();
  });
});

describe('decisions', () => {
  it('approval advances; rejection, expiry and changed evidence do not', () => {
    const events = log(ok('record-plan', 1));
    const state = foldEvents(events);
    const criteria = evaluateCriteria(state, 1, CTX);
    const { event, requestId } = requestEvent(state, criteria, { summary: 's', expiresAfterMs: 60_000, requestedBy: 'agent', now: new Date('2026-12-01T00:00:00Z') });
    events.push(makeEvent(events.at(-1)!, event.type, event.data));
    const pending = foldEvents(events);
    const human = { approve: true, channel: 'terminal' as const, approver: 'alice@host' };
    const t0 = new Date('2026-12-01T00:00:30Z');
    expect(decideRequest(pending, requestId, human, criteria, t0).outcome).toBe('advanced');
    expect(decideRequest(pending, requestId, { ...human, approve: false }, criteria, t0).outcome).toBe('rejected');
    expect(decideRequest(pending, requestId, human, criteria, new Date('2026-12-01T00:01:01Z')).outcome).toBe('expired');
    const changed = evaluateCriteria(foldEvents(log(ok('record-plan', 1), ok('list-resources', 1))), 1, CTX);
    expect(decideRequest(pending, requestId, human, changed, t0).outcome).toBe('evidence-changed');
    expect(decideRequest(pending, 'tr-unknown', human, criteria, t0).outcome).toBe('not-pending');
  });
});
