/**
 * Facts about a task read from its recorded evidence (tool outcomes), shared by the monitoring
 * tools, the runbook and the report. Pure: state in, facts out.
 */
import type { TaskState, ToolOutcome } from '../workflow/task-state.js';

type Obj = Record<string, any>;
const out = (o: ToolOutcome): Obj => (o.output ?? {}) as Obj;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export interface DeployedFunction {
  function: string;
  alias?: string;
  newVersion?: string;
  previousVersion?: string;
  codeSha256?: string;
  ts: string;
  seq: number;
}

/** The latest successful deploy-lambda per function in phase 4, in first-deployed order. */
export function latestDeployments(state: TaskState): DeployedFunction[] {
  const byFunction = new Map<string, DeployedFunction>();
  for (const o of state.outcomes) {
    if (o.tool !== 'deploy-lambda' || o.phase !== 4 || !o.ok) continue;
    const fn = str(out(o).function) ?? str(o.input.function);
    if (!fn) continue;
    const first = byFunction.get(fn);
    byFunction.set(fn, {
      function: fn,
      alias: str(out(o).alias) ?? str(o.input.alias),
      newVersion: out(o).newVersion !== undefined ? String(out(o).newVersion) : undefined,
      // The version before the first deployment of this task is the one to go back to.
      previousVersion: first?.previousVersion ?? (out(o).previousVersion != null ? String(out(o).previousVersion) : undefined),
      codeSha256: str(out(o).codeSha256),
      ts: o.ts,
      seq: o.seq,
    });
  }
  return [...byFunction.values()];
}

/** When the application was first deployed (phase 4), or when phase 4 began. */
export function deploymentStart(state: TaskState): string | undefined {
  const first = state.outcomes.find((o) => o.phase === 4 && o.ok && (o.tool === 'deploy-lambda' || o.tool === 'upload-artifacts'));
  return first?.ts ?? state.visits.find((v) => v.number === 4)?.enteredAt;
}

export interface CreatedAlarm {
  alarmName: string;
  alarmArn?: string;
  function: string;
  preset: string;
  metric?: Obj;
  actions: string[];
  metricFilter?: { metricNamespace: string; metricName: string; logGroup: string; status: string };
  ts: string;
  /** Latest test-alarm result for it, if any. */
  test?: { passed: boolean; ts: string; states: Obj[]; actions?: Obj[] };
}

/** The latest successful create-alarm per alarm name (phase 6), with its latest test. */
export function createdAlarms(state: TaskState): CreatedAlarm[] {
  const alarms = new Map<string, CreatedAlarm>();
  for (const o of state.outcomes) {
    if (!o.ok || o.phase !== 6) continue;
    if (o.tool === 'create-alarm') {
      const name = str(out(o).alarmName);
      if (!name) continue;
      alarms.set(name, {
        alarmName: name,
        alarmArn: str(out(o).alarmArn),
        function: str(out(o).function) ?? String(o.input.function ?? ''),
        preset: str(out(o).preset) ?? String(o.input.preset ?? ''),
        metric: out(o).metric,
        actions: Array.isArray(out(o).actions) ? out(o).actions : [],
        metricFilter: out(o).metricFilter,
        ts: o.ts,
        test: alarms.get(name)?.test,
      });
    } else if (o.tool === 'test-alarm') {
      const name = str(o.input.alarmName);
      const alarm = name ? alarms.get(name) : undefined;
      if (alarm) alarm.test = { passed: out(o).passed === true, ts: o.ts, states: out(o).states ?? [], actions: out(o).actions };
    }
  }
  return [...alarms.values()];
}

export function latestOk(state: TaskState, tool: string, phase?: number): ToolOutcome | undefined {
  for (let i = state.outcomes.length - 1; i >= 0; i--) {
    const o = state.outcomes[i];
    if (o.tool === tool && o.ok && (phase === undefined || o.phase === phase)) return o;
  }
  return undefined;
}

export function latestAny(state: TaskState, tool: string, phase?: number): ToolOutcome | undefined {
  for (let i = state.outcomes.length - 1; i >= 0; i--) {
    const o = state.outcomes[i];
    if (o.tool === tool && (phase === undefined || o.phase === phase)) return o;
  }
  return undefined;
}

export interface GitFacts {
  branch: string;
  baseCommit?: string;
  remote?: string;
}

export function gitFacts(state: TaskState): GitFacts {
  const created = latestOk(state, 'create-branch');
  return {
    branch: str(created && out(created).branch) ?? state.branch,
    baseCommit: str(created && out(created).baseCommit),
    remote: str(created && out(created).remote),
  };
}

export function releaseTag(state: TaskState): { tag: string; commit?: string; pushed: boolean } | undefined {
  const t = latestOk(state, 'tag-release');
  if (!t || !str(out(t).tag)) return undefined;
  return { tag: out(t).tag, commit: str(out(t).commit), pushed: out(t).pushed === true };
}

export function dashboard(state: TaskState): { name: string; url?: string; widgets?: number } | undefined {
  const d = latestOk(state, 'create-dashboard', 6);
  if (!d || !str(out(d).dashboardName)) return undefined;
  return { name: out(d).dashboardName, url: str(out(d).url), widgets: out(d).widgets };
}

/** Buckets artifacts were uploaded to in phase 4. */
export function uploadedArtifacts(state: TaskState): { bucket: string; prefix?: string; objects: number }[] {
  const result: { bucket: string; prefix?: string; objects: number }[] = [];
  for (const o of state.outcomes) {
    if (o.tool !== 'upload-artifacts' || !o.ok || o.phase !== 4) continue;
    const bucket = str(o.input.bucket);
    if (!bucket) continue;
    result.push({ bucket, prefix: str(o.input.prefix), objects: Array.isArray(out(o).objects) ? out(o).objects.length : 0 });
  }
  return result;
}

/** "3m 05s" style durations. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
