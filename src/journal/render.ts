/**
 * Renders journal.md from a task's state through `journal-templates/deployment.md`. The journal
 * is a view: events.jsonl is the record, so a hand edit here is overwritten on the next render.
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import type { CriterionResult } from '../workflow/criteria.js';
import { phaseByNumber } from '../workflow/phases.js';
import { latestOutcome, pendingRequest, type TaskState, type ToolOutcome } from '../workflow/task-state.js';
import { redactText } from './redact.js';

/** Sections the agent may write through write-journal's updateSections. */
export const AGENT_SECTIONS = [
  'Deployment Plan',
  'Infrastructure Changes',
  'Application Deployment',
  'Validation Results',
  'Monitoring',
  'Rollback',
  'Key Learnings',
] as const;

/** Sections only the server writes. */
export const SERVER_SECTIONS = ['Current Phase', 'Git References'] as const;

export function canonicalSectionName(name: string): string | null {
  const wanted = name.trim().replace(/^#+\s*/, '').toLowerCase().replace(/[-_]+/g, ' ');
  return AGENT_SECTIONS.find((s) => s.toLowerCase() === wanted) ?? null;
}

export interface JournalContext {
  criteria: CriterionResult[];
  contacts: { name: string; role?: string; email?: string; phone?: string; slack?: string }[];
  project?: string;
}

const templateCache = new Map<string, string>();

function template(name: string): string {
  const file = path.join(packageRoot(), 'journal-templates', name);
  let text = templateCache.get(file);
  if (text === undefined) {
    text = fs.readFileSync(file, 'utf8');
    templateCache.set(file, text);
  }
  return text;
}

/** `2026-12-01 10:42:07Z` */
export function utc(ts: string): string {
  return ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (all, key: string) => (key in values ? values[key] : all));
}

/** Tool outcomes shown in each section, newest last. */
const SECTION_TOOLS: Record<string, string[]> = {
  infrastructure: ['verify-infrastructure', 'verify-resource', 'list-resources'],
  application: ['upload-artifacts', 'deploy-lambda', 'configure-schedule', 'smoke-test', 'check-logs'],
  validation: ['run-checks', 'check-config', 'security-audit', 'measure-performance', 'cost-check'],
  monitoring: ['create-alarm', 'create-dashboard', 'test-alarm', 'write-runbook'],
  rollback: ['backup-state', 'plan-rollback', 'test-rollback', 'rollback'],
};

function outcomeLine(o: ToolOutcome): string {
  const output = (o.output ?? {}) as Record<string, unknown>;
  const text = o.ok ? (o.summary ?? (typeof output.journalLine === 'string' ? output.journalLine : 'succeeded')).split('\n')[0] : `failed: ${o.error?.message ?? 'error'}`;
  return `- ${utc(o.ts)} · phase ${o.phase} · \`${o.tool}\` ${o.ok ? '✔' : '✘'} ${text}`;
}

function section(state: TaskState, key: string, agentName: string, intro?: string): string {
  const parts: string[] = [];
  if (intro) parts.push(intro);
  const agentText = state.sections[agentName];
  if (agentText) parts.push(agentText.trim());
  const tools = SECTION_TOOLS[key] ?? [];
  const lines = state.outcomes.filter((o) => tools.includes(o.tool)).map(outcomeLine);
  if (lines.length) parts.push(lines.join('\n'));
  return parts.length ? parts.join('\n\n') : '_Nothing recorded yet._';
}

/** The latest full verify-infrastructure run as a table: what the human changed, as AWS sees it. */
function infrastructureTable(state: TaskState): string | null {
  const run = state.outcomes.filter((o) => o.tool === 'verify-infrastructure' && o.ok && !o.input.resources).at(-1);
  if (!run) return null;
  const results = ((run.output ?? {}) as Record<string, any>).results as any[] | undefined;
  if (!results?.length) return null;
  const cell = (v: unknown) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = results.map((r) => {
    const issues = [
      ...(r.discrepancies ?? []).map((d: any) => `${d.field}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)}`),
      ...(r.problems ?? []).map((p: any) => `${p.field}: ${p.code}`),
      ...(r.flags ?? []).filter((f: any) => f.severity === 'high').map((f: any) => `⚠ ${f.message}`),
    ];
    return `| ${cell(r.type)} | \`${cell(r.name)}\` | ${r.verified ? '✔ verified' : r.existence === 'absent' ? '✘ missing' : '✘ differs'} | ${cell(issues.join('; ') || '—')} |`;
  });
  return [`Latest full verification (${utc(run.ts)}, seq ${run.seq}):`, '', '| type | resource | result | details |', '|---|---|---|---|', ...rows].join('\n');
}

function planSection(state: TaskState): string {
  const plan = latestOutcome(state, 1, 'record-plan', true)?.input as Record<string, any> | undefined;
  const parts: string[] = [];
  if (plan) {
    const list = (items: unknown) => (Array.isArray(items) && items.length ? items.map((i) => `  - ${typeof i === 'string' ? i : JSON.stringify(i)}`).join('\n') : '  - (none)');
    parts.push(
      [
        `- **Components**:\n${list(plan.components)}`,
        `- **Order**:\n${list(plan.order)}`,
        `- **Infrastructure changes**:\n${list(plan.infrastructureChanges)}`,
        `- **Rollback strategy**: ${plan.rollbackStrategy ?? '—'}`,
        `- **Expected downtime**: ${plan.expectedDowntime ?? '—'}`,
      ].join('\n'),
    );
  }
  if (state.sections['Deployment Plan']) parts.push(state.sections['Deployment Plan'].trim());
  return parts.length ? parts.join('\n\n') : '_No plan recorded yet (record-plan, phase 1)._';
}

/**
 * Rendered (and redacted) Progress Log entries by task state and seq. Events never change, so an
 * entry is rendered once; a re-render at event 10,000 formats only what is new.
 */
const renderedEntries = new WeakMap<TaskState, Map<number, string>>();

function progressEntry(e: { ts: string; activity: string; content: string; nextAction?: string; isPhaseTransition?: boolean; kind?: string }): string {
  return redactText(fill(template('progress-entry.md'), {
    timestamp: utc(e.ts),
    activity: e.activity + (e.kind && e.kind !== 'progress' && e.kind !== 'system' ? ` (${e.kind})` : ''),
    transitionMark: e.isPhaseTransition ? ' · phase transition' : '',
    content: e.content,
    nextAction: e.nextAction ? `**Next:** ${e.nextAction}` : '',
  })
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd());
}

function cachedEntry(state: TaskState, e: Parameters<typeof progressEntry>[0] & { seq: number }): string {
  let cache = renderedEntries.get(state);
  if (!cache) renderedEntries.set(state, (cache = new Map()));
  let text = cache.get(e.seq);
  if (text === undefined) cache.set(e.seq, (text = progressEntry(e)));
  return text;
}

export function renderJournal(state: TaskState, ctx: JournalContext): string {
  const phase = phaseByNumber(state.phase);
  const pending = pendingRequest(state);
  const statusLine =
    state.status === 'active'
      ? [
          `Status: **active** since ${utc(state.visits.at(-1)?.enteredAt ?? state.createdAt)}.`,
          ctx.criteria.length
            ? `Exit criteria: ${ctx.criteria.filter((c) => c.met).length} of ${ctx.criteria.length} met${ctx.criteria.some((c) => !c.met) ? ` (unmet: ${ctx.criteria.filter((c) => !c.met).map((c) => c.id).join(', ')})` : ''}.`
            : '',
          pending ? `Waiting for the human to approve request ${pending.requestId} (expires ${utc(pending.expiresAt)}).` : '',
        ]
          .filter(Boolean)
          .join(' ')
      : `Status: **${state.status}** at ${utc(state.endedAt ?? state.head?.ts ?? state.createdAt)}${state.endReason ? ` — ${state.endReason}` : ''}.`;

  const createBranch = state.outcomes.filter((o) => o.tool === 'create-branch' && o.ok).at(-1);
  const branchOut = (createBranch?.output ?? {}) as Record<string, any>;
  const entries = [
    ...state.journal.map((j) => ({ ...j })),
    ...state.systemLog.map((s) => ({ ...s, kind: 'system' as const, nextAction: undefined })),
  ].sort((a, b) => a.seq - b.seq);
  const learnings = state.journal.filter((j) => j.kind === 'learning').map((j) => `- ${j.activity}: ${j.content}`);
  if (state.sections['Key Learnings']) learnings.unshift(state.sections['Key Learnings'].trim());

  const contacts = ctx.contacts.length
    ? ctx.contacts
        .map((c, i) => `${i + 1}. ${c.name}${c.role ? ` (${c.role})` : ''}${[c.email, c.phone, c.slack].filter(Boolean).length ? ` — ${[c.email, c.phone, c.slack].filter(Boolean).join(', ')}` : ''}`)
        .join('\n')
    : '_No contacts configured (config `contacts`)._';

  const text = fill(template('deployment.md'), {
    taskId: String(state.taskId),
    title: state.title,
    phaseNumber: String(phase.number),
    phaseName: phase.name,
    phaseId: phase.id,
    statusLine,
    branch: branchOut.branch ?? state.branch,
    baseCommit: branchOut.baseCommit ? `\`${branchOut.baseCommit}\`` : '_not recorded yet (create-branch, phase 2)_',
    remote: branchOut.remote ?? '_none_',
    releaseTag: (() => {
      const tag = state.outcomes.filter((o) => o.tool === 'tag-release' && o.ok).at(-1)?.output as Record<string, any> | undefined;
      return tag?.tag ? `\`${tag.tag}\` on \`${tag.commit ?? '?'}\`${tag.pushed ? ' (pushed)' : ''}` : '_not tagged yet (tag-release, phase 8)_';
    })(),
    pinnedIdentity: state.pinned
      ? `${state.pinned.arn ?? '?'} — account ${state.pinned.account}, ${state.pinned.region} (verify-credentials, seq ${state.pinned.seq})`
      : '_not verified yet (verify-credentials, phase 1)_',
    environment: state.environment,
    component: state.component,
    accountId: state.pinned?.account ?? state.target.accountId ?? '?',
    region: state.pinned?.region ?? state.target.region ?? '?',
    project: ctx.project ?? '',
    plan: planSection(state),
    infrastructure: section(state, 'infrastructure', 'Infrastructure Changes', infrastructureTable(state) ?? undefined),
    application: section(state, 'application', 'Application Deployment'),
    validation: section(state, 'validation', 'Validation Results'),
    monitoring: section(state, 'monitoring', 'Monitoring'),
    rollback: section(state, 'rollback', 'Rollback'),
    contacts,
    progressLog: PROGRESS_LOG_MARK,
    learnings: learnings.length ? learnings.join('\n') : '_None recorded yet._',
    integrity: `Rendered from ${state.eventCount} events; head hash \`${state.head?.hash ?? '-'}\` (seq ${state.head?.seq ?? 0}). Check with \`npx deploy-mcp verify ${state.taskId}\`.`,
    generatedAt: utc(new Date().toISOString()),
  });
  // Everything but the (already redacted, cached) Progress Log passes the redactor here.
  const log = entries.length ? entries.map((e) => cachedEntry(state, e)).join('\n\n') : '_No entries yet._';
  return redactText(text).replace(PROGRESS_LOG_MARK, () => log);
}

const PROGRESS_LOG_MARK = '\u0000progress-log\u0000';
