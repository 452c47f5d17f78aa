/**
 * The post-deployment report (generate-report): what was deployed, the issues met and how they
 * were resolved, validation, performance and cost figures, monitoring since the deployment,
 * rollback readiness, approvals, learnings and recommendations, with a Mermaid timeline of the
 * phases and a Mermaid diagram of the deployed resources. Pure: the recorded state and a
 * monitoring snapshot in, Markdown out.
 */
import { substituteEnvironment, type DeployConfig } from '../config/index.js';
import { redactText } from '../journal/redact.js';
import { utc } from '../journal/render.js';
import { phaseByNumber } from '../workflow/phases.js';
import type { TaskState, ToolOutcome } from '../workflow/task-state.js';
import type { MonitoringSnapshot } from './monitoring.js';
import { ResourceGraph, ganttChart, phaseSpans } from './mermaid.js';
import {
  createdAlarms,
  dashboard,
  deploymentStart,
  formatDuration,
  gitFacts,
  latestDeployments,
  latestOk,
  releaseTag,
  uploadedArtifacts,
} from './task-facts.js';
import { fillTemplate, readTemplate, table } from './template.js';

export const REPORT_SECTIONS = [
  'Summary',
  'What Was Deployed',
  'Timeline',
  'Deployed Resources',
  'Issues and Resolutions',
  'Validation Results',
  'Performance',
  'Cost',
  'Monitoring Since Deployment',
  'Rollback Readiness',
  'Approvals',
  'Key Learnings',
  'Recommendations',
] as const;

export interface ReportInput {
  state: TaskState;
  config: DeployConfig | null;
  region: string;
  /** null when AWS could not be read at all (with the reason). */
  snapshot: MonitoringSnapshot | null;
  snapshotError?: string;
  runbookPath?: string;
  /** The head of the deployment branch, when the repository could be read. */
  branchHead?: string;
  now: Date;
}

type Obj = Record<string, any>;
const out = (o: ToolOutcome | undefined): Obj => ((o?.output ?? {}) as Obj);
const code = (s: unknown) => `\`${String(s)}\``;
const pct = (n: unknown) => (typeof n === 'number' ? `${(n * 100).toFixed(2)}%` : '–');
const ms = (n: unknown) => (typeof n === 'number' ? `${n} ms` : '–');

function resolvedBy(state: TaskState, failed: ToolOutcome): ToolOutcome | undefined {
  return state.outcomes.find((o) => o.seq > failed.seq && o.tool === failed.tool && o.phase === failed.phase && o.ok);
}

interface Issue {
  text: string;
  unresolved: boolean;
}

function collectIssues(state: TaskState): Issue[] {
  const issues: Issue[] = [];
  for (const o of state.outcomes) {
    if (o.ok) continue;
    const fix = resolvedBy(state, o);
    issues.push({
      text: `✘ ${utc(o.ts)} · phase ${o.phase} · ${code(o.tool)} failed: ${o.error?.message ?? 'error'} — ${fix ? `resolved: a later run succeeded (seq ${fix.seq}, ${utc(fix.ts)})` : `**unresolved**${o.error?.nextStep ? ` (suggested: ${o.error.nextStep})` : ''}`}`,
      unresolved: !fix,
    });
  }
  for (const entry of state.systemLog) {
    if (!entry.activity.startsWith('Refused ')) continue;
    issues.push({ text: `⛔ ${utc(entry.ts)} · phase ${entry.phase} · ${entry.activity}: ${entry.content} — the guard stopped it; nothing ran.`, unresolved: false });
  }
  for (const id of state.requestOrder) {
    const r = state.requests.get(id)!;
    if (r.status === 'rejected') {
      issues.push({
        text: `↩ ${utc(r.decision?.ts ?? r.ts)} · phase ${r.from} exit request ${code(r.requestId)} rejected by ${r.decision?.approver ?? 'the human'} via ${r.decision?.channel ?? '?'}${r.decision?.comment ? `: "${r.decision.comment}"` : ''}${
          r.unmet.length ? ` (unmet: ${r.unmet.join(', ')})` : ''
        } — ${state.visits.find((v) => v.number === r.from)?.leftAt ? 'resolved: the phase was approved later' : 'the phase has not been left since'}.`,
        unresolved: false,
      });
    } else if (r.status === 'void') {
      issues.push({ text: `⌛ ${utc(r.decision?.ts ?? r.ts)} · phase ${r.from} exit request ${code(r.requestId)} was not approved: ${r.decision?.reason ?? 'void'}.`, unresolved: false });
    } else if (r.status === 'approved' && r.override) {
      issues.push({ text: `⚠ ${utc(r.decision?.ts ?? r.ts)} · phase ${r.from} left with an override (unmet: ${r.unmet.join(', ') || 'none'}): ${r.override.reason}`, unresolved: r.unmet.length > 0 });
    }
  }
  for (const note of state.logNotes) issues.push({ text: `🔧 ${utc(note.ts)} · event log: ${note.message}`, unresolved: false });
  for (const j of state.journal) if (j.kind === 'decision') issues.push({ text: `🧭 ${utc(j.ts)} · decision (phase ${j.phase}): ${j.activity} — ${j.content.split('\n')[0]}`, unresolved: false });
  return issues;
}

function deployedSection(state: TaskState): string {
  const parts: string[] = [];
  const deployments = latestDeployments(state);
  if (deployments.length) {
    parts.push(
      table(
        ['function', 'alias', 'version', 'previous version', 'code sha256', 'deployed'],
        deployments.map((d) => [code(d.function), d.alias ?? '–', d.newVersion ?? '–', d.previousVersion ?? 'none (first deployment)', d.codeSha256 ? code(d.codeSha256.slice(0, 16)) : '–', utc(d.ts)]),
      ),
    );
  }
  const uploads = uploadedArtifacts(state);
  if (uploads.length) parts.push(uploads.map((u) => `- ${u.objects} object(s) uploaded to \`s3://${u.bucket}/${u.prefix ?? ''}\``).join('\n'));
  const schedules = state.outcomes.filter((o) => o.tool === 'configure-schedule' && o.ok);
  if (schedules.length) parts.push(schedules.map((o) => `- Schedule ${code(out(o).ruleName ?? '?')} → ${code(o.input.function ?? '?')}: ${String(o.input.schedule ?? '?')}`).join('\n'));
  const plan = latestOk(state, 'record-plan', 1)?.input as Obj | undefined;
  if (plan?.components?.length) {
    const done = new Set([...deployments.map((d) => d.function), ...state.outcomes.filter((o) => o.ok && o.phase === 4).map((o) => String(o.input.component ?? o.input.function ?? ''))]);
    const missing = (plan.components as string[]).filter((c) => !done.has(c));
    parts.push(`Planned components: ${(plan.components as string[]).map(code).join(', ')}${missing.length ? ` — **not deployed: ${missing.join(', ')}**` : ' — all deployed.'}`);
  }
  return parts.length ? parts.join('\n\n') : '_Nothing was deployed by this task._';
}

function resourceDiagram(state: TaskState, config: DeployConfig | null, snapshot: MonitoringSnapshot | null): string {
  const g = new ResourceGraph();
  const wiring = new Map((snapshot?.functions ?? []).map((f) => [f.function, f]));
  const fnIds = new Map<string, string>();
  for (const d of latestDeployments(state)) {
    const fn = g.node('function', d.function, `Lambda ${d.function}${d.newVersion ? ` v${d.newVersion}` : ''}`);
    fnIds.set(d.function, fn);
    if (d.alias) g.edge(g.node('alias', `${d.function}:${d.alias}`, `alias ${d.alias} → v${d.newVersion ?? '?'}`), fn, 'routes to');
    const w = wiring.get(d.function);
    if (w?.role) g.edge(fn, g.node('role', w.role, `IAM role ${w.role.slice(w.role.lastIndexOf('/') + 1)}`), 'assumes');
    g.edge(fn, g.node('log-group', w?.logGroup ?? `/aws/lambda/${d.function}`, `log group ${w?.logGroup ?? `/aws/lambda/${d.function}`}`), 'logs to');
  }
  for (const a of createdAlarms(state)) {
    const alarm = g.node('alarm', a.alarmName, `alarm ${a.alarmName}`);
    if (a.preset === 'log-errors' && a.metricFilter) {
      const metric = g.node('metric', `${a.metricFilter.metricNamespace}/${a.metricFilter.metricName}`, `metric ${a.metricFilter.metricName}`);
      g.edge(g.node('log-group', a.metricFilter.logGroup, `log group ${a.metricFilter.logGroup}`), metric, 'error lines');
      g.edge(alarm, metric, 'watches');
    } else {
      const fn = fnIds.get(a.function) ?? g.node('function', a.function, `Lambda ${a.function}`);
      g.edge(alarm, fn, 'watches');
    }
    for (const action of a.actions) g.edge(alarm, g.node('topic', action, `SNS ${action.slice(action.lastIndexOf(':') + 1)}`), 'notifies');
  }
  const board = dashboard(state);
  if (board) {
    const d = g.node('dashboard', board.name, `dashboard ${board.name}`);
    for (const id of fnIds.values()) g.edge(d, id, 'shows', true);
  }
  for (const u of uploadedArtifacts(state)) {
    const bucket = g.node('bucket', u.bucket, `S3 ${u.bucket}`);
    g.edge(g.node('function', `upload:${u.bucket}`, `artifacts ${u.prefix ?? ''}`.trim()), bucket, 'uploaded to');
  }
  for (const r of config?.resources ?? []) {
    const res = substituteEnvironment(r, state.environment);
    if (res.type === 's3-bucket') g.node('bucket', res.name, `S3 ${res.name}`);
    else if (res.type === 'iam-role' && ![...g.nodes.values()].some((n) => n.kind === 'role' && n.label.endsWith(` ${res.name}`))) g.node('role', res.name, `IAM role ${res.name}`);
    else if (res.type === 'log-group') g.node('log-group', res.name, `log group ${res.name}`);
    else if (res.type === 'lambda-function' && !fnIds.has(res.name)) g.node('function', res.name, `Lambda ${res.name} (configured)`);
  }
  return ['```mermaid', g.render(), '```'].join('\n');
}

function validationSection(state: TaskState): string {
  const parts: string[] = [];
  const infra = state.outcomes.filter((o) => o.tool === 'verify-infrastructure' && o.ok && !o.input.resources).at(-1);
  if (infra) parts.push(`- **Infrastructure** (phase 3, ${utc(infra.ts)}): ${(out(infra).results ?? []).length} resource(s) verified by API, ${out(infra).discrepancyCount ?? '?'} discrepanc(ies).`);
  const smoke = latestOk(state, 'smoke-test');
  if (smoke) {
    const results = (out(smoke).results ?? []) as Obj[];
    parts.push(`- **Smoke tests** (phase ${smoke.phase}, ${utc(smoke.ts)}): ${results.filter((r) => r.passed).length}/${results.length} passed.`);
  }
  const logs = latestOk(state, 'check-logs');
  if (logs) parts.push(`- **Log check** (phase ${logs.phase}, ${utc(logs.ts)}): ${out(logs).errorCount ?? '?'} error(s) in ${code(logs.input.logGroup ?? '?')} since ${out(logs).windowStart ? utc(String(out(logs).windowStart)) : 'the deployment'}.`);
  const checks = latestOk(state, 'run-checks', 5);
  if (checks) {
    parts.push(
      `- **Integration checks** (phase 5, ${utc(checks.ts)}): ${out(checks).allPassed ? 'all passed' : 'NOT all passed'}\n\n` +
        table(
          ['check', 'command', 'exit code', 'passed', 'duration'],
          ((out(checks).results ?? []) as Obj[]).map((r) => [r.name, r.command ? code(r.command) : '–', r.exitCode, r.passed ? '✔' : '✘', formatDuration(Number(r.durationMs))]),
        ),
    );
  }
  const audit = latestOk(state, 'security-audit', 5);
  if (audit) {
    const findings = (out(audit).findings ?? []) as Obj[];
    const shown = findings.filter((f) => f.severity !== 'low').slice(0, 25);
    parts.push(
      `- **Security audit** (phase 5, ${utc(audit.ts)}): ${(out(audit).audited ?? []).length} resource(s) audited — ${out(audit).highCount ?? 0} high, ${out(audit).mediumCount ?? 0} medium, ${out(audit).lowCount ?? 0} low.` +
        (shown.length ? `\n\n${table(['severity', 'resource', 'rule', 'finding', 'remedy'], shown.map((f) => [f.severity, f.resource, f.rule, f.message, f.remedy]))}` : ''),
    );
  }
  return parts.length ? parts.join('\n\n') : '_No validation evidence was recorded._';
}

function performanceSection(state: TaskState, config: DeployConfig | null): string {
  const runs = state.outcomes.filter((o) => o.tool === 'measure-performance' && o.ok);
  if (!runs.length) return '_measure-performance did not run._';
  const thresholds = config?.performance ?? {};
  const lines = [
    table(
      ['when', 'target', 'requests × concurrency', 'p50', 'p95', 'p99', 'error rate', 'throughput', 'verdict'],
      runs.map((o) => {
        const r = out(o);
        return [utc(o.ts), r.target, `${r.completed}/${r.requests} × ${r.concurrency}`, ms(r.p50Ms), ms(r.p95Ms), ms(r.p99Ms), pct(r.errorRate), r.throughputRps !== undefined ? `${r.throughputRps}/s` : '–', r.withinThresholds ? '✔ within' : `✘ ${(r.violations ?? []).join('; ')}`];
      }),
    ),
    '',
    `Thresholds: ${[
      thresholds.p50Ms !== undefined ? `p50 ≤ ${thresholds.p50Ms} ms` : '',
      thresholds.p95Ms !== undefined ? `p95 ≤ ${thresholds.p95Ms} ms` : '',
      thresholds.p99Ms !== undefined ? `p99 ≤ ${thresholds.p99Ms} ms` : '',
      `error rate ≤ ${pct(out(runs.at(-1)).thresholds?.maxErrorRate ?? thresholds.maxErrorRate ?? 0.01)}`,
    ]
      .filter(Boolean)
      .join(', ')}${Object.keys(thresholds).length ? '' : ' (no latency thresholds configured)'}.`,
  ];
  return lines.join('\n');
}

function costSection(state: TaskState): string {
  const runs = state.outcomes.filter((o) => o.tool === 'cost-check' && o.ok);
  if (!runs.length) return '_cost-check did not run._';
  const rows = runs.map((o) => {
    const r = out(o);
    return [
      phaseByNumber(o.phase).name,
      r.period ? `${r.period.start} → ${r.period.end}` : '–',
      r.available ? `${r.totalUsd} ${r.currency ?? 'USD'}${r.estimated ? ' (estimated)' : ''}` : 'unavailable',
      r.budgetUsd !== undefined ? `${r.budgetUsd} USD${r.overBudget ? ' — **over budget**' : r.available ? ` (${r.budgetUsedPercent}%)` : ''}` : '–',
      r.available ? Object.entries((r.byService ?? {}) as Record<string, number>).slice(0, 3).map(([s, v]) => `${s} ${v}`).join(', ') || 'none yet' : r.reason,
    ];
  });
  const last = out(runs.at(-1));
  const tagLine = last.byTag ? `\n\nBy ${code(last.tagKey)} tag (latest): ${Object.entries(last.byTag as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ') || 'no tagged cost yet'}.` : '';
  return table(['checkpoint', 'period', 'total', 'budget', 'top services / reason unavailable'], rows) + tagLine;
}

function monitoringSection(state: TaskState, input: ReportInput): string {
  const parts: string[] = [];
  const alarms = createdAlarms(state);
  if (alarms.length) {
    parts.push(
      table(
        ['alarm', 'function', 'preset', 'condition', 'actions', 'tested'],
        alarms.map((a) => [
          code(a.alarmName),
          a.function,
          a.preset,
          a.metric ? `${a.metric.metricName} ${a.metric.statistic} ${a.metric.comparisonOperator === 'GreaterThanThreshold' ? '>' : '≥'} ${a.metric.threshold}` : '–',
          a.actions.length ? String(a.actions.length) : '**none**',
          a.test ? `${a.test.passed ? '✔ passed' : '✘ failed'} ${utc(a.test.ts)}` : 'not tested',
        ]),
      ),
    );
  } else parts.push('_No alarms were created._');
  const board = dashboard(state);
  parts.push(board ? `Dashboard: [${board.name}](${board.url ?? ''}) (${board.widgets ?? '?'} widgets).` : 'Dashboard: _none created_.');
  const runbook = latestOk(state, 'write-runbook', 6);
  parts.push(runbook ? `Runbook: ${code(out(runbook).path ?? input.runbookPath ?? 'runbook.md')} (${utc(runbook.ts)}).` : 'Runbook: _not written_.');

  const snap = input.snapshot;
  if (!snap) {
    parts.push(`**State now**: unavailable — ${input.snapshotError ?? 'AWS could not be read'}.`);
    return parts.join('\n\n');
  }
  parts.push(`**State now** (read ${utc(snap.at)}${snap.since ? `; logs since the deployment at ${utc(snap.since)}` : ''}):`);
  if (snap.alarms.length) {
    parts.push(table(['alarm', 'state', 'since', 'reason'], snap.alarms.map((a) => [code(a.name), a.error ? `unavailable: ${a.error}` : a.state === 'ALARM' ? '**ALARM**' : a.state, a.since ? utc(a.since) : '–', a.reason ?? '–'])));
  }
  if (snap.logErrors.length) {
    parts.push(
      table(
        ['function', 'log group', 'error lines', 'events scanned', 'note'],
        snap.logErrors.map((l) => [
          l.function,
          code(l.logGroup),
          l.error ? 'unavailable' : `${l.errorCount}${l.capped ? '+' : ''}`,
          l.scannedEvents ?? '–',
          l.error ?? l.note ?? (l.samples?.length ? `e.g. ${l.samples[0]}` : '–'),
        ]),
      ),
    );
  }
  return parts.join('\n\n');
}

function rollbackSection(state: TaskState): string {
  const parts: string[] = [];
  const plan = latestOk(state, 'plan-rollback', 7);
  parts.push(plan ? `- Procedure: ${(out(plan).steps ?? []).length} step(s) in ${code(out(plan).path ?? '?')} (${utc(plan.ts)}).` : '- Procedure: _not generated (plan-rollback, phase 7)_.');
  const rehearsal = latestOk(state, 'test-rollback', 7);
  parts.push(
    rehearsal
      ? `- Rehearsal: ${out(rehearsal).passed ? 'passed' : 'FAILED'} in ${formatDuration(Number(out(rehearsal).durationMs))} (${out(rehearsal).durationMs} ms)${out(rehearsal).restoredVersion ? `, restored version ${out(rehearsal).restoredVersion}` : ''} (${utc(rehearsal.ts)}).`
      : '- Rehearsal: _not done (test-rollback, phase 7)_.',
  );
  const executed = state.outcomes.filter((o) => o.tool === 'rollback' && o.ok);
  for (const o of executed) parts.push(`- **Rollback executed** ${utc(o.ts)} (${String(o.input.reason ?? '')}): ${out(o).status}, restored ${(out(o).restored ?? []).length} item(s) in ${out(o).durationMs} ms.`);
  const rollbackPlan = latestOk(state, 'record-plan', 1)?.input as Obj | undefined;
  if (rollbackPlan?.rollbackStrategy) parts.push(`- Strategy in the plan: ${rollbackPlan.rollbackStrategy}`);
  return parts.join('\n');
}

function approvalsSection(state: TaskState): string {
  const rows = state.visits
    .filter((v) => v.exit)
    .map((v) => {
      const req = state.requests.get(v.exit!.requestId);
      return [`${v.number} ${phaseByNumber(v.number).name}`, v.leftAt ? utc(v.leftAt) : '–', v.exit!.approver, v.exit!.channel, v.exit!.comment ?? '–', v.exit!.override ? `override: ${v.exit!.override.reason}` : req?.unmet.length ? `unmet: ${req.unmet.join(', ')}` : 'all criteria met'];
    });
  return rows.length ? table(['phase', 'approved', 'approver', 'channel', 'comment', 'criteria'], rows) : '_No phase has been approved yet._';
}

function learningsSection(state: TaskState): string {
  const items = state.journal.filter((j) => j.kind === 'learning').map((j) => `- ${utc(j.ts)} · **${j.activity}**: ${j.content}`);
  if (state.sections['Key Learnings']) items.unshift(state.sections['Key Learnings'].trim());
  return items.length ? items.join('\n') : '_No learnings were recorded (write-journal with kind: learning)._';
}

function recommendations(state: TaskState, input: ReportInput, issues: Issue[]): string[] {
  const recs: string[] = [];
  for (const i of issues.filter((x) => x.unresolved)) recs.push(`Follow up the unresolved issue: ${i.text.replace(/^\S+\s/, '')}`);
  const audit = out(latestOk(state, 'security-audit', 5));
  const open = ((audit.findings ?? []) as Obj[]).filter((f) => f.severity === 'high' || f.severity === 'medium');
  for (const f of open.slice(0, 10)) recs.push(`Security (${f.severity}, ${f.rule}) on ${f.resource}: ${f.remedy}`);
  if (open.length > 10) recs.push(`…and ${open.length - 10} more high/medium security findings (see Validation Results).`);
  const perf = out(latestOk(state, 'measure-performance', 5));
  const limit = input.config?.performance?.p95Ms;
  if (perf.p95Ms !== undefined && limit && perf.p95Ms > limit * 0.8 && perf.p95Ms <= limit) recs.push(`p95 latency (${perf.p95Ms} ms) is within 20% of its ${limit} ms threshold: little headroom before the alarm fires.`);
  if (!input.config?.performance || Object.keys(input.config.performance).length === 0) recs.push('Configure latency thresholds (`performance.p95Ms`) so measure-performance and the duration alarm compare against an agreed target.');
  const cost = out(state.outcomes.filter((o) => o.tool === 'cost-check' && o.ok).at(-1));
  if (cost.available === false) recs.push(`Cost was not visible (${cost.reason}). Enable Cost Explorer or grant ce:GetCostAndUsage, then re-check next week.`);
  if (cost.overBudget) recs.push(`Cost ${cost.totalUsd} USD is over the ${cost.budgetUsd} USD budget: review the top services.`);
  const alarms = createdAlarms(state);
  const silent = alarms.filter((a) => a.actions.length === 0);
  if (silent.length) recs.push(`Give these alarms an action (an SNS topic someone subscribes to): ${silent.map((a) => a.alarmName).join(', ')}.`);
  const untested = alarms.filter((a) => !a.test?.passed);
  if (untested.length) recs.push(`Test these alarms (test-alarm) and confirm the notification arrives: ${untested.map((a) => a.alarmName).join(', ')}.`);
  for (const a of input.snapshot?.alarms ?? []) if (a.state === 'ALARM') recs.push(`Alarm ${a.name} is in ALARM now (${a.reason ?? 'no reason given'}): investigate with the runbook.`);
  for (const l of input.snapshot?.logErrors ?? []) if ((l.errorCount ?? 0) > 0) recs.push(`${l.errorCount}${l.capped ? '+' : ''} error line(s) in ${l.logGroup} since the deployment: read them (aws logs tail) and decide whether they need a fix.`);
  const rehearsal = out(latestOk(state, 'test-rollback', 7));
  if (!rehearsal.passed) recs.push('Rehearse the rollback (test-rollback) before the next deployment of this component.');
  const overrides = [...state.requests.values()].filter((r) => r.status === 'approved' && r.override);
  for (const r of overrides) recs.push(`Phase ${r.from} was left with an override (${r.override!.reason}): close the gap it left (${r.unmet.join(', ') || 'see the journal'}).`);
  if (!state.journal.some((j) => j.kind === 'learning') && !state.sections['Key Learnings']) recs.push('Record at least one learning (write-journal kind: learning) so the next deployment benefits.');
  if (!releaseTag(state)) recs.push('The release is not tagged yet: run tag-release so the deployed commit can be found again.');
  return recs;
}

export function renderReport(input: ReportInput): { markdown: string; sections: string[]; recommendations: number; issues: number } {
  const { state, config, now } = input;
  const spans = phaseSpans(state, now);
  const end = state.endedAt ?? now.toISOString();
  const git = gitFacts(state);
  const tag = releaseTag(state);
  const deployments = latestDeployments(state);
  const issues = collectIssues(state);
  const recs = recommendations(state, input, issues);
  const audit = out(latestOk(state, 'security-audit', 5));
  const perf = out(latestOk(state, 'measure-performance', 5));
  const cost = out(state.outcomes.filter((o) => o.tool === 'cost-check' && o.ok).at(-1));
  const alarms = createdAlarms(state);
  const rehearsal = out(latestOk(state, 'test-rollback', 7));

  const summary = [
    deployments.length
      ? `Deployed ${deployments.length} function(s) — ${deployments.map((d) => `${code(d.function)}${d.newVersion ? ` v${d.newVersion}` : ''}${d.alias ? ` behind alias ${d.alias}` : ''}`).join(', ')} — to **${state.environment}** (${input.region}).`
      : `Nothing was deployed by this task to **${state.environment}** (${input.region}).`,
    `${spans.filter((s) => !s.ongoing).length} of 8 phases approved in ${formatDuration(Date.parse(end) - Date.parse(state.createdAt))}; status **${state.status}**${state.status === 'active' ? ` (now in phase ${state.phase}, ${phaseByNumber(state.phase).name})` : ''}.`,
    `${issues.filter((i) => i.text.startsWith('✘')).length} failed step(s) (${issues.filter((i) => i.unresolved).length} unresolved), ${state.refusals} refusal(s) by the guard, ${[...state.requests.values()].filter((r) => r.status === 'rejected').length} rejected transition request(s).`,
    audit.highCount !== undefined ? `Security: ${audit.highCount} high / ${audit.mediumCount} medium / ${audit.lowCount} low finding(s).` : 'Security: not audited.',
    perf.p95Ms !== undefined ? `Performance: p50 ${ms(perf.p50Ms)}, p95 ${ms(perf.p95Ms)}, p99 ${ms(perf.p99Ms)}, error rate ${pct(perf.errorRate)} — ${perf.withinThresholds ? 'within thresholds' : 'outside thresholds'}.` : 'Performance: not measured.',
    cost.available === true ? `Cost so far: ${cost.totalUsd} ${cost.currency ?? 'USD'}${cost.budgetUsd !== undefined ? ` of ${cost.budgetUsd} USD budget` : ''}.` : cost.available === false ? `Cost: unavailable (${cost.reason}).` : 'Cost: not checked.',
    `Monitoring: ${alarms.length} alarm(s), ${alarms.filter((a) => a.test?.passed).length} tested${dashboard(state) ? ', dashboard in place' : ''}.` +
      (rehearsal.passed ? ` Rollback rehearsed in ${formatDuration(Number(rehearsal.durationMs))}.` : ''),
  ]
    .map((l) => `- ${l}`)
    .join('\n');

  const timeline = [
    '```mermaid',
    ganttChart(state, now),
    '```',
    '',
    table(
      ['phase', 'entered', 'left', 'duration', 'approved by'],
      spans.map((s) => [`${s.number} ${s.name}`, utc(s.start), s.ongoing ? 'in progress' : utc(s.end), formatDuration(s.durationMs), s.approver ? `${s.approver} (${s.channel})${s.override ? ' — override' : ''}` : '–']),
    ),
  ].join('\n');

  const markdown = fillTemplate('report.md', readTemplate('report.md'), {
    taskId: String(state.taskId),
    title: state.title,
    project: config?.project ?? '–',
    environment: state.environment,
    component: state.component,
    accountId: state.pinned?.account ?? state.target.accountId ?? '?',
    region: input.region,
    status: state.status === 'active' ? `active — phase ${state.phase} (${phaseByNumber(state.phase).name})` : state.status,
    startedAt: utc(state.createdAt),
    endedAt: state.endedAt ? utc(state.endedAt) : 'not ended (report generated before the final approval)',
    totalDuration: formatDuration(Date.parse(end) - Date.parse(state.createdAt)),
    branch: git.branch,
    commit: tag?.commit
      ? `${code(tag.commit)} (tagged)`
      : input.branchHead
        ? `${code(input.branchHead)} (head of the deployment branch)`
        : git.baseCommit
          ? `${code(git.baseCommit)} (the commit the branch was created from; the branch head could not be read)`
          : 'not recorded',
    releaseTag: tag ? `${code(tag.tag)}${tag.pushed ? ' (pushed)' : ' (local)'}` : 'not tagged yet',
    generatedAt: utc(now.toISOString()),
    summary,
    deployed: deployedSection(state),
    timeline,
    resources: resourceDiagram(state, config, input.snapshot),
    issues: issues.length ? issues.map((i) => `- ${i.text}`).join('\n') : '_No failures, refusals or rejected transitions were recorded._',
    validation: validationSection(state),
    performance: performanceSection(state, config),
    cost: costSection(state),
    monitoring: monitoringSection(state, input),
    rollback: rollbackSection(state),
    approvals: approvalsSection(state),
    learnings: learningsSection(state),
    recommendations: recs.length ? recs.map((r) => `- ${r}`).join('\n') : '- No follow-ups: every check passed, nothing is outstanding.',
    integrity: `${state.eventCount} events, head \`${state.head?.hash ?? '-'}\` (seq ${state.head?.seq ?? 0}); check with \`npx deploy-mcp verify ${state.taskId}\`.`,
  });
  return { markdown: redactText(markdown), sections: [...REPORT_SECTIONS], recommendations: recs.length, issues: issues.length };
}

export { deploymentStart };
