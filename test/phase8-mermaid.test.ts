/** Mermaid output stays parseable whatever the task title, approver names or resource names are. */
import { describe, expect, it } from 'vitest';
import { ResourceGraph, ganttChart, ganttText, labelText } from '../src/report/mermaid.js';
import { foldEvents } from '../src/workflow/task-state.js';
import type { StoredEvent } from '../src/state/event-log.js';

let seq = 0;
const ev = (ts: string, type: string, data: Record<string, unknown>): StoredEvent => ({ seq: ++seq, ts, type, data, prev: '', hash: `h${seq}` }) as unknown as StoredEvent;

describe('mermaid', () => {
  it('neutralises characters the gantt grammar would read as syntax', () => {
    expect(ganttText('Task #12: fix; "now" [x] {y} <z>')).toBe('Task 12 fix now x y z');
    expect(labelText('bucket "a"|b[1]')).toBe('bucket #quot;a#quot; b 1');
  });

  it('renders one task per phase with ISO-ordered start and end, and a milestone per rejection', () => {
    seq = 0;
    const state = foldEvents([
      ev('2026-03-01T10:00:00.000Z', 'task.started', { taskId: 4, title: 'Billing: v2; #1 "fast"', environment: 'prod', component: 'billing', branch: 'b' }),
      ev('2026-03-01T10:05:00.000Z', 'transition.requested', { requestId: 'r1', from: 1, to: 2, summary: 's', unmet: [] }),
      ev('2026-03-01T10:06:00.000Z', 'transition.rejected', { requestId: 'r1', approver: 'eve: sec#ops', channel: 'terminal' }),
      ev('2026-03-01T10:07:00.000Z', 'transition.requested', { requestId: 'r2', from: 1, to: 2, summary: 's', unmet: [] }),
      ev('2026-03-01T10:08:00.000Z', 'phase.advanced', { from: 1, to: 2, requestId: 'r2', approver: 'ann (ops)', channel: 'terminal', override: { reason: 'known gap' } }),
    ]);
    const chart = ganttChart(state, new Date('2026-03-01T11:00:00.000Z'));
    expect(chart.split('\n')).toEqual([
      'gantt',
      '    title Task 4 - Billing v2 1 fast (prod)',
      '    dateFormat YYYY-MM-DD HH:mm:ss',
      '    axisFormat %m-%d %H:%M',
      '    section Phases',
      '    Phase 1 Pre-Deployment Analysis - 8m 00s - approved by ann (ops) via terminal with override :done, crit, p1, 2026-03-01 10:00:00, 2026-03-01 10:08:00',
      '    Phase 2 Environment Preparation - 52m 00s - in progress :active, p2, 2026-03-01 10:08:00, 2026-03-01 11:00:00',
      '    section Rejected requests',
      '    Phase 1 exit rejected by eve sec ops :milestone, r1, 2026-03-01 10:06:00, 0d',
    ]);
  });

  it('gives nodes stable ids, reuses them, and renders an empty graph as one node', () => {
    const g = new ResourceGraph();
    const a = g.node('function', 'fn', 'Lambda "fn"');
    expect(g.node('function', 'fn', 'other label')).toBe(a);
    g.edge(a, g.node('role', 'r', 'IAM role r'), 'assumes');
    g.edge(a, g.node('role', 'r', 'IAM role r'), 'assumes');
    expect(g.render().split('\n')).toEqual(['flowchart LR', '    function1["Lambda #quot;fn#quot;"]', '    role2[/"IAM role r"/]', '    function1 -->|assumes| role2']);
    expect(new ResourceGraph().render()).toBe('flowchart LR\n    empty["nothing deployed yet"]');
  });
});
