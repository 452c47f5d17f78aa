/**
 * Mermaid diagrams for the report: a `gantt` timeline of the phases (durations, approvers) and a
 * `flowchart` of the deployed resources. Text that Mermaid would parse as syntax (`:`, `;`, `#`,
 * quotes, brackets) is neutralised, so any task title or approver name renders.
 */
import { phaseByNumber } from '../workflow/phases.js';
import type { TaskState } from '../workflow/task-state.js';
import { formatDuration } from './task-facts.js';

/** Gantt task names end at `:`; `;` and `#` start statements and entities. */
export function ganttText(text: string): string {
  return text.replace(/[:;#"`<>{}[\]]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** A flowchart label inside `["…"]`: quotes become the Mermaid entity, brackets are kept out. */
export function labelText(text: string): string {
  return text.replace(/"/g, '#quot;').replace(/[\r\n]+/g, ' ').replace(/[[\]{}|<>]/g, ' ').trim();
}

/** `2026-03-01 10:42:07` (UTC), the gantt's dateFormat `YYYY-MM-DD HH:mm:ss`. */
function ganttTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

export interface PhaseSpan {
  number: number;
  name: string;
  start: string;
  end: string;
  ongoing: boolean;
  durationMs: number;
  approver?: string;
  channel?: string;
  override?: boolean;
}

export function phaseSpans(state: TaskState, now: Date): PhaseSpan[] {
  return state.visits.map((v) => {
    const end = v.leftAt ?? state.endedAt ?? now.toISOString();
    return {
      number: v.number,
      name: phaseByNumber(v.number).name,
      start: v.enteredAt,
      end,
      ongoing: !v.leftAt && state.status === 'active',
      durationMs: Date.parse(end) - Date.parse(v.enteredAt),
      approver: v.exit?.approver,
      channel: v.exit?.channel,
      override: !!v.exit?.override,
    };
  });
}

export function ganttChart(state: TaskState, now: Date): string {
  const spans = phaseSpans(state, now);
  const lines = [
    'gantt',
    `    title ${ganttText(`Task ${state.taskId} - ${state.title} (${state.environment})`)}`,
    '    dateFormat YYYY-MM-DD HH:mm:ss',
    '    axisFormat %m-%d %H:%M',
    '    section Phases',
  ];
  for (const s of spans) {
    const who = s.approver ? `approved by ${s.approver}${s.channel ? ` via ${s.channel}` : ''}${s.override ? ' with override' : ''}` : s.ongoing ? 'in progress' : 'not approved';
    const name = ganttText(`Phase ${s.number} ${s.name} - ${formatDuration(s.durationMs)} - ${who}`);
    const tags = [s.ongoing ? 'active' : 'done', s.override ? 'crit' : ''].filter(Boolean).join(', ');
    lines.push(`    ${name} :${tags}, p${s.number}, ${ganttTime(s.start)}, ${ganttTime(s.end)}`);
  }
  const rejected = [...state.requests.values()].filter((r) => r.status === 'rejected' && r.decision);
  if (rejected.length) {
    lines.push('    section Rejected requests');
    rejected.forEach((r, i) => {
      const name = ganttText(`Phase ${r.from} exit rejected by ${r.decision!.approver ?? 'unknown'}`);
      lines.push(`    ${name} :milestone, r${i + 1}, ${ganttTime(r.decision!.ts)}, 0d`);
    });
  }
  return lines.join('\n');
}

export interface ResourceNode {
  id: string;
  kind: 'function' | 'alias' | 'role' | 'log-group' | 'alarm' | 'topic' | 'dashboard' | 'bucket' | 'metric';
  label: string;
}

export interface ResourceEdge {
  from: string;
  to: string;
  label?: string;
  dotted?: boolean;
}

const SHAPES: Record<ResourceNode['kind'], [string, string]> = {
  function: ['[', ']'],
  alias: ['([', '])'],
  role: ['[/', '/]'],
  'log-group': ['[(', ')]'],
  alarm: ['{{', '}}'],
  topic: ['>', ']'],
  dashboard: ['[[', ']]'],
  bucket: ['[(', ')]'],
  metric: ['(', ')'],
};

/** Builds the graph with stable, syntax-safe node ids. */
export class ResourceGraph {
  readonly nodes = new Map<string, ResourceNode>();
  readonly edges: ResourceEdge[] = [];

  node(kind: ResourceNode['kind'], key: string, label: string): string {
    const existing = this.nodes.get(`${kind}:${key}`);
    if (existing) return existing.id;
    const id = `${kind.replace(/[^a-z]/g, '')}${this.nodes.size + 1}`;
    this.nodes.set(`${kind}:${key}`, { id, kind, label });
    return id;
  }

  edge(from: string, to: string, label?: string, dotted = false): void {
    if (!this.edges.some((e) => e.from === from && e.to === to && e.label === label)) this.edges.push({ from, to, label, dotted });
  }

  render(): string {
    const lines = ['flowchart LR'];
    for (const n of this.nodes.values()) {
      const [open, close] = SHAPES[n.kind];
      lines.push(`    ${n.id}${open}"${labelText(n.label)}"${close}`);
    }
    for (const e of this.edges) {
      const arrow = e.dotted ? '-.->' : '-->';
      lines.push(`    ${e.from} ${arrow}${e.label ? `|${labelText(e.label).replace(/"/g, '')}|` : ''} ${e.to}`);
    }
    if (this.nodes.size === 0) lines.push('    empty["nothing deployed yet"]');
    return lines.join('\n');
  }
}
