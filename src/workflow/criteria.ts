/**
 * Exit criteria evaluated from recorded evidence. Pure: state in, verdicts out. Every verdict
 * names the events that decided it, and the evidence hash that an approval is bound to is
 * computed from exactly those events.
 */
import { canonicalJson, sha256Hex } from '../state/event-log.js';
import { phaseByNumber } from './phases.js';
import { latestOutcome, outcomesIn, type TaskState, type ToolOutcome } from './task-state.js';

export interface CriteriaContext {
  /** Checks that must pass in phase 2 (every configured or default check but `integration`). */
  preparationChecks: string[];
  /** Whether an `integration` check is configured for phase 5. */
  integrationConfigured: boolean;
  /** Resources listed in the config (phase 3 verifies all of them). */
  configuredResources: number;
}

export interface CriterionResult {
  id: string;
  text: string;
  met: boolean;
  /** What decided it, for a person. */
  evidence: string;
  /** Hashes of the events that decided it (binding for approvals). */
  basis: string[];
}

type Evaluator = (state: TaskState, ctx: CriteriaContext) => Omit<CriterionResult, 'id' | 'text'>;

const at = (o: ToolOutcome) => `seq ${o.seq}, ${o.ts}`;
const unmet = (evidence: string, basis: string[] = []) => ({ met: false, evidence, basis });
const met = (evidence: string, basis: string[]) => ({ met: true, evidence, basis });
const out = (o: ToolOutcome): Record<string, any> => (o.output ?? {}) as Record<string, any>;

function succeeded(phase: number, tool: string, what: string, check?: (o: ToolOutcome) => string | null): Evaluator {
  return (state) => {
    const last = latestOutcome(state, phase, tool);
    if (!last) return unmet(`${tool} has not run in phase ${phase}`);
    if (!last.ok) return unmet(`latest ${tool} failed (${last.error?.message ?? 'error'}; ${at(last)})`, [last.hash]);
    const problem = check?.(last) ?? null;
    if (problem) return unmet(`${problem} (${at(last)})`, [last.hash]);
    return met(`${what} (${tool}, ${at(last)})`, [last.hash]);
  };
}

/** The plan recorded in phase 1, if any. */
export function recordedPlan(state: TaskState): Record<string, any> | undefined {
  return latestOutcome(state, 1, 'record-plan', true)?.input as Record<string, any> | undefined;
}

/** Latest result of each named check across every run-checks call in `phase`. */
function latestCheckResults(state: TaskState, phase: number): Map<string, { passed: boolean; exitCode: unknown; outcome: ToolOutcome }> {
  const results = new Map<string, { passed: boolean; exitCode: unknown; outcome: ToolOutcome }>();
  for (const o of outcomesIn(state, phase, 'run-checks')) {
    if (!o.ok) continue;
    for (const r of (out(o).results ?? []) as any[]) {
      results.set(String(r.name), { passed: r.passed === true, exitCode: r.exitCode, outcome: o });
    }
  }
  return results;
}

function deployedComponents(state: TaskState): Map<string, ToolOutcome> {
  const deployed = new Map<string, ToolOutcome>();
  for (const tool of ['deploy-lambda', 'upload-artifacts']) {
    for (const o of outcomesIn(state, 4, tool)) {
      if (!o.ok) continue;
      const names = [o.input.component, o.input.function, out(o).function].filter((n) => typeof n === 'string') as string[];
      for (const n of names) deployed.set(n, o);
    }
  }
  return deployed;
}

/** Functions deployed in phase 4 (what phase 6 must watch). */
export function deployedFunctions(state: TaskState): string[] {
  const names = new Set<string>();
  for (const o of outcomesIn(state, 4, 'deploy-lambda')) {
    if (o.ok && typeof out(o).function === 'string') names.add(out(o).function);
  }
  return [...names];
}

const EVALUATORS: Record<string, Evaluator> = {
  // Phase 1
  'plan-recorded': succeeded(1, 'record-plan', 'plan recorded'),
  'infrastructure-listed': (state) => {
    const last = latestOutcome(state, 1, 'list-resources', true);
    if (!last) return unmet('list-resources has not succeeded in phase 1');
    const counts = out(last).counts as Record<string, number> | undefined;
    const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : undefined;
    return met(`infrastructure listed${total !== undefined ? ` (${total} resources)` : ''} (${at(last)})`, [last.hash]);
  },
  'credentials-verified': succeeded(1, 'verify-credentials', 'credentials verified and pinned', (o) =>
    out(o).matchesConfig === true ? null : `credentials resolve to account ${out(o).account ?? '?'} / ${out(o).region ?? '?'}, not the configured ones`,
  ),

  // Phase 2
  'branch-created': succeeded(2, 'create-branch', 'deployment branch created', (o) =>
    typeof out(o).branch === 'string' ? null : 'create-branch returned no branch',
  ),
  'checks-passed': (state, ctx) => {
    if (ctx.preparationChecks.length === 0) return unmet('no checks are configured');
    const latest = latestCheckResults(state, 2);
    const missing: string[] = [];
    const failed: string[] = [];
    const basis = new Set<string>();
    for (const name of ctx.preparationChecks) {
      const r = latest.get(name);
      if (!r) missing.push(name);
      else {
        basis.add(r.outcome.hash);
        if (!r.passed) failed.push(`${name} (exit ${String(r.exitCode)}, seq ${r.outcome.seq})`);
      }
    }
    if (missing.length || failed.length) {
      const parts = [failed.length ? `failed: ${failed.join(', ')}` : '', missing.length ? `not run: ${missing.join(', ')}` : ''].filter(Boolean);
      return unmet(parts.join('; '), [...basis]);
    }
    return met(`all ${ctx.preparationChecks.length} checks passed in their latest run (${ctx.preparationChecks.join(', ')})`, [...basis]);
  },
  'config-clean': succeeded(2, 'check-config', 'config and secrets scan clean', (o) =>
    out(o).clean === true ? null : `check-config reported ${(out(o).findings ?? []).length} finding(s)`,
  ),
  'backup-taken': (state) => {
    const last = latestOutcome(state, 2, 'backup-state');
    if (last?.ok) return met(`backup taken: ${(out(last).backups ?? []).length} snapshot(s) (${at(last)})`, [last.hash]);
    const plan = recordedPlan(state);
    if (plan?.greenfield === true) {
      const planOutcome = latestOutcome(state, 1, 'record-plan', true)!;
      return met(`the plan says nothing exists yet (greenfield; record-plan seq ${planOutcome.seq})`, [planOutcome.hash]);
    }
    if (last) return unmet(`latest backup-state failed (${last.error?.message ?? 'error'}; ${at(last)})`, [last.hash]);
    return unmet('backup-state has not run in phase 2');
  },

  // Phase 3
  'infrastructure-verified': (state, ctx) => {
    const runs = outcomesIn(state, 3, 'verify-infrastructure').filter((o) => !o.input.resources);
    const last = runs.at(-1);
    if (!last) return unmet('verify-infrastructure has not run over the full resource list in phase 3');
    if (!last.ok) return unmet(`latest verify-infrastructure failed (${last.error?.message ?? 'error'}; ${at(last)})`, [last.hash]);
    const n = Number(out(last).discrepancyCount ?? NaN);
    if (out(last).verified !== true || n !== 0) {
      return unmet(`latest full run found ${Number.isNaN(n) ? 'unverified' : n} discrepanc${n === 1 ? 'y' : 'ies'} (${at(last)})`, [last.hash]);
    }
    const count = (out(last).results ?? []).length;
    return met(`${count} of ${ctx.configuredResources} configured resources verified, 0 discrepancies (${at(last)})`, [last.hash]);
  },

  // Phase 4
  'components-deployed': (state) => {
    const plan = recordedPlan(state);
    const components = (plan?.components ?? []) as string[];
    if (components.length === 0) return unmet('no plan with components was recorded in phase 1');
    const deployed = deployedComponents(state);
    const missing = components.filter((c) => !deployed.has(c));
    const basis = components.map((c) => deployed.get(c)?.hash).filter(Boolean) as string[];
    if (missing.length) return unmet(`not deployed yet: ${missing.join(', ')}`, basis);
    return met(`deployed: ${components.join(', ')}`, basis);
  },
  'smoke-passed': succeeded(4, 'smoke-test', 'smoke tests all passing', (o) => {
    const results = (out(o).results ?? []) as any[];
    if (out(o).allPassed !== true) return `${results.filter((r) => !r.passed).length} of ${results.length} smoke targets failed`;
    return results.length === 0 ? 'the smoke test had no targets' : null;
  }),
  'logs-clean': (state) => {
    const lastDeploy = [...outcomesIn(state, 4, 'deploy-lambda'), ...outcomesIn(state, 4, 'upload-artifacts')]
      .filter((o) => o.ok)
      .reduce((m, o) => Math.max(m, o.seq), 0);
    const last = latestOutcome(state, 4, 'check-logs');
    if (!last) return unmet('check-logs has not run in phase 4');
    if (last.seq < lastDeploy) return unmet(`check-logs ran before the latest deployment (seq ${last.seq} < ${lastDeploy})`, [last.hash]);
    if (!last.ok) return unmet(`latest check-logs failed (${last.error?.message ?? 'error'})`, [last.hash]);
    const errors = Number(out(last).errorCount ?? NaN);
    if (errors !== 0) return unmet(`${Number.isNaN(errors) ? 'unknown' : errors} error(s) in the logs since the deployment (${at(last)})`, [last.hash]);
    return met(`no errors in the logs since the deployment (${at(last)})`, [last.hash]);
  },

  // Phase 5
  'integration-passed': (state, ctx) => {
    if (!ctx.integrationConfigured) return unmet('no `integration` check is configured (add checks.integration to the config)');
    const r = latestCheckResults(state, 5).get('integration');
    if (!r) return unmet('the integration check has not run in phase 5');
    if (!r.passed) return unmet(`integration check failed (exit ${String(r.exitCode)}, seq ${r.outcome.seq})`, [r.outcome.hash]);
    return met(`integration check passed (seq ${r.outcome.seq})`, [r.outcome.hash]);
  },
  'security-clean': succeeded(5, 'security-audit', 'no high-severity finding', (o) =>
    Number(out(o).highCount) === 0 ? null : `${out(o).highCount} high-severity finding(s)`,
  ),
  'performance-ok': succeeded(5, 'measure-performance', 'performance within thresholds', (o) =>
    out(o).withinThresholds === true ? null : `p95 ${out(o).p95Ms} ms / error rate ${out(o).errorRate} outside the configured thresholds`,
  ),
  'cost-checked': succeeded(5, 'cost-check', 'cost checked', (o) =>
    out(o).available === true || (out(o).available === false && typeof out(o).reason === 'string' && out(o).reason.length > 0)
      ? null
      : 'cost-check gave neither figures nor a reason',
  ),

  // Phase 6
  'alarms-per-function': (state) => {
    const functions = deployedFunctions(state);
    if (functions.length === 0) return unmet('no function was deployed in phase 4');
    const alarmed = new Map<string, ToolOutcome>();
    for (const o of outcomesIn(state, 6, 'create-alarm')) if (o.ok) alarmed.set(String(o.input.function), o);
    const missing = functions.filter((f) => !alarmed.has(f));
    const basis = functions.map((f) => alarmed.get(f)?.hash).filter(Boolean) as string[];
    if (missing.length) return unmet(`no alarm yet for: ${missing.join(', ')}`, basis);
    return met(`alarms exist for ${functions.join(', ')}`, basis);
  },
  'dashboard-created': succeeded(6, 'create-dashboard', 'dashboard created'),
  'alarms-tested': (state) => {
    const created = outcomesIn(state, 6, 'create-alarm').filter((o) => o.ok);
    if (created.length === 0) return unmet('no alarm has been created');
    const tested = new Map<string, ToolOutcome>();
    for (const o of outcomesIn(state, 6, 'test-alarm')) if (o.ok) tested.set(String(o.input.alarmName), o);
    const names = [...new Set(created.map((o) => String(out(o).alarmName)))];
    const failing = names.filter((n) => out(tested.get(n) ?? ({} as ToolOutcome)).passed !== true);
    const basis = [...created.map((o) => o.hash), ...names.map((n) => tested.get(n)?.hash).filter(Boolean)] as string[];
    if (failing.length) return unmet(`not tested (or failed): ${failing.join(', ')}`, basis);
    return met(`${names.length} alarm(s) tested`, basis);
  },
  'runbook-written': succeeded(6, 'write-runbook', 'runbook written'),

  // Phase 7
  'rollback-planned': succeeded(7, 'plan-rollback', 'rollback procedure generated'),
  'rollback-rehearsed': succeeded(7, 'test-rollback', 'rollback rehearsed', (o) =>
    out(o).passed === true && typeof out(o).durationMs === 'number' ? null : 'the rehearsal did not pass or recorded no duration',
  ),

  // Phase 8
  'report-generated': succeeded(8, 'generate-report', 'report generated'),
  'release-tagged': succeeded(8, 'tag-release', 'release tagged'),
  'artifacts-archived': succeeded(8, 'archive-artifacts', 'artifacts archived'),
};

export function evaluateCriteria(state: TaskState, phase: number, ctx: CriteriaContext): CriterionResult[] {
  return phaseByNumber(phase).criteria.map((c) => {
    const evaluate = EVALUATORS[c.id];
    if (!evaluate) throw new Error(`No evaluator for criterion ${c.id}`);
    return { id: c.id, text: c.text, ...evaluate(state, ctx) };
  });
}

/** What an approval is bound to: the verdicts and the exact events behind them. */
export function evidenceHash(results: CriterionResult[]): string {
  return sha256Hex(canonicalJson(results.map((r) => ({ id: r.id, met: r.met, basis: r.basis }))));
}
