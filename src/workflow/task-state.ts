/**
 * A task's state is a fold over its events. The fold is incremental (apply one event at a time),
 * so keeping it current costs O(new events), not O(all events).
 */
import type { StoredEvent } from '../state/event-log.js';
import { FINAL_PHASE, type PhaseNumber } from './phases.js';

export type TaskStatus = 'active' | 'complete' | 'rolled-back' | 'abandoned';

export interface ToolOutcome {
  seq: number;
  hash: string;
  ts: string;
  tool: string;
  phase: number;
  ok: boolean;
  input: Record<string, unknown>;
  output?: Record<string, unknown>;
  error?: { code: string; message: string; nextStep?: string };
  durationMs?: number;
  /** One-line summary the tool gave of its result (for the journal). */
  summary?: string;
}

export interface TransitionRequest {
  requestId: string;
  seq: number;
  ts: string;
  from: PhaseNumber;
  /** null: the request completes the task (from phase 8). */
  to: PhaseNumber | null;
  summary: string;
  evidenceHash: string;
  criteria: { id: string; text: string; met: boolean; evidence: string }[];
  unmet: string[];
  override?: { reason: string };
  expiresAt: string;
  requestedBy: string;
  status: 'pending' | 'approved' | 'rejected' | 'void';
  decision?: {
    seq: number;
    ts: string;
    channel?: string;
    approver?: string;
    comment?: string;
    reason?: string;
  };
}

/**
 * A human-confirmed rollback (SPEC §3). The restore plan shown to the human is stored in the
 * request, and exactly that plan runs, at most once, only after a human approved it.
 */
export interface RollbackRequest {
  requestId: string;
  seq: number;
  ts: string;
  /** Phase the task was in when the rollback was requested. */
  phase: number;
  reason: string;
  /** Components asked for (empty: all). */
  components: string[];
  /** Restore targets, as shown to the human (see src/deploy/rollback-plan.ts). */
  targets: Record<string, unknown>[];
  /** What the rollback does not restore, shown to the human. */
  manual: { component: string; title: string }[];
  planHash: string;
  expiresAt: string;
  requestedBy: string;
  status: 'pending' | 'approved' | 'rejected' | 'void' | 'executed';
  decision?: { seq: number; ts: string; channel?: string; approver?: string; comment?: string; reason?: string; planHash?: string };
  execution?: { seq: number; ts: string };
}

export interface PhaseVisit {
  number: PhaseNumber;
  enteredAt: string;
  enteredSeq: number;
  leftAt?: string;
  /** The approval that ended this phase. */
  exit?: { requestId: string; approver: string; channel: string; comment?: string; override?: { reason: string } };
}

export interface JournalEntry {
  seq: number;
  ts: string;
  phase: number;
  activity: string;
  content: string;
  nextAction?: string;
  isPhaseTransition?: boolean;
  kind: 'progress' | 'learning' | 'decision' | 'system';
}

export interface TaskState {
  taskId: number;
  title: string;
  environment: string;
  component: string;
  branch: string;
  createdAt: string;
  createdBy: string;
  target: { accountId?: string; region?: string; profile?: string };
  status: TaskStatus;
  endedAt?: string;
  endReason?: string;
  phase: PhaseNumber;
  visits: PhaseVisit[];
  outcomes: ToolOutcome[];
  /** `${phase}:${tool}` → outcomes in order. */
  outcomesByKey: Map<string, ToolOutcome[]>;
  requests: Map<string, TransitionRequest>;
  requestOrder: string[];
  rollbackRequests: Map<string, RollbackRequest>;
  rollbackOrder: string[];
  journal: JournalEntry[];
  /** Agent-written text for the journal's free sections (Deployment Plan, Key Learnings, …). */
  sections: Record<string, string>;
  pinned?: { account: string; region: string; arn?: string; seq: number };
  refusals: number;
  eventCount: number;
  head: { seq: number; hash: string; ts: string } | null;
  logNotes: { seq: number; ts: string; type: string; message: string }[];
  /** What the server itself writes into the Progress Log (start, requests, approvals, refusals, failures). */
  systemLog: { seq: number; ts: string; phase: number; activity: string; content: string; isPhaseTransition?: boolean }[];
}

export function emptyState(): TaskState {
  return {
    taskId: 0,
    title: '',
    environment: '',
    component: '',
    branch: '',
    createdAt: '',
    createdBy: '',
    target: {},
    status: 'active',
    phase: 1,
    visits: [],
    outcomes: [],
    outcomesByKey: new Map(),
    requests: new Map(),
    requestOrder: [],
    rollbackRequests: new Map(),
    rollbackOrder: [],
    journal: [],
    sections: {},
    refusals: 0,
    eventCount: 0,
    head: null,
    logNotes: [],
    systemLog: [],
  };
}

type Data = Record<string, any>;

/** Applies one event. Unknown event types are kept in the log but change nothing. */
export function applyEvent(state: TaskState, event: StoredEvent): TaskState {
  const d = event.data as Data;
  state.eventCount += 1;
  state.head = { seq: event.seq, hash: event.hash, ts: event.ts };
  switch (event.type) {
    case 'task.started':
      state.taskId = d.taskId;
      state.title = d.title;
      state.environment = d.environment;
      state.component = d.component;
      state.branch = d.branch;
      state.createdAt = event.ts;
      state.createdBy = d.actor ?? 'unknown';
      state.target = d.target ?? {};
      state.phase = 1;
      state.visits.push({ number: 1, enteredAt: event.ts, enteredSeq: event.seq });
      sys(state, event, 'Task started', `${d.title} — ${d.environment} / ${d.component}, started by ${state.createdBy}. Branch \`${d.branch}\`.`);
      break;
    case 'tool.succeeded':
    case 'tool.failed': {
      const outcome: ToolOutcome = {
        seq: event.seq,
        hash: event.hash,
        ts: event.ts,
        tool: d.tool,
        phase: d.phase,
        ok: event.type === 'tool.succeeded',
        input: d.input ?? {},
        output: d.output,
        error: d.error,
        durationMs: d.durationMs,
        summary: d.summary,
      };
      state.outcomes.push(outcome);
      if (!outcome.ok) sys(state, event, `${outcome.tool} failed`, `${outcome.error?.message ?? 'error'}${outcome.error?.nextStep ? ` Next step: ${outcome.error.nextStep}` : ''}`);
      const key = `${outcome.phase}:${outcome.tool}`;
      const list = state.outcomesByKey.get(key);
      if (list) list.push(outcome);
      else state.outcomesByKey.set(key, [outcome]);
      if (outcome.ok && outcome.tool === 'verify-credentials' && d.output?.pinned && d.output?.account) {
        state.pinned = { account: d.output.account, region: d.output.region, arn: d.output.arn, seq: event.seq };
      }
      if (outcome.ok && outcome.tool === 'rollback' && d.output?.status === 'rolled-back') {
        state.status = 'rolled-back';
        state.endedAt = event.ts;
        state.endReason = String(d.input?.reason ?? '');
      }
      break;
    }
    case 'tool.refused':
      state.refusals += 1;
      sys(state, event, `Refused ${d.tool} (${d.reason})`, String(d.message ?? ''));
      break;
    case 'journal.entry':
      state.journal.push({
        seq: event.seq,
        ts: event.ts,
        phase: d.phase ?? state.phase,
        activity: d.activity,
        content: d.content,
        nextAction: d.nextAction,
        isPhaseTransition: d.isPhaseTransition,
        kind: d.kind ?? 'progress',
      });
      if (d.updateSections && typeof d.updateSections === 'object') {
        for (const [k, v] of Object.entries(d.updateSections as Record<string, string>)) state.sections[k] = v;
      }
      break;
    case 'transition.requested':
      state.requests.set(d.requestId, {
        requestId: d.requestId,
        seq: event.seq,
        ts: event.ts,
        from: d.from,
        to: d.to ?? null,
        summary: d.summary,
        evidenceHash: d.evidenceHash,
        criteria: d.criteria ?? [],
        unmet: d.unmet ?? [],
        override: d.override,
        expiresAt: d.expiresAt,
        requestedBy: d.requestedBy ?? 'agent',
        status: 'pending',
      });
      state.requestOrder.push(d.requestId);
      sys(
        state,
        event,
        `Transition requested (${d.requestId})`,
        `From phase ${d.from} to ${d.to ?? 'completion'}: ${d.summary}` +
          ((d.unmet ?? []).length ? ` Unmet criteria: ${(d.unmet as string[]).join(', ')}.` : ' All exit criteria met.') +
          (d.override ? ` Override requested: ${d.override.reason}` : ''),
      );
      break;
    case 'transition.approved':
    case 'transition.rejected':
    case 'transition.voided': {
      const req = state.requests.get(d.requestId);
      if (req && req.status === 'pending') {
        req.status = event.type === 'transition.approved' ? 'approved' : event.type === 'transition.rejected' ? 'rejected' : 'void';
        req.decision = {
          seq: event.seq,
          ts: event.ts,
          channel: d.channel,
          approver: d.approver,
          comment: d.comment,
          reason: d.reason,
        };
      }
      const verb = event.type === 'transition.approved' ? 'approved' : event.type === 'transition.rejected' ? 'rejected' : 'void';
      sys(
        state,
        event,
        `Transition ${verb} (${d.requestId})`,
        event.type === 'transition.voided'
          ? `Not approved: ${d.detail ?? d.reason}.`
          : `${verb === 'approved' ? 'Approved' : 'Rejected'} by ${d.approver} via ${d.channel}${d.comment ? `: "${d.comment}"` : '.'}`,
      );
      break;
    }
    case 'phase.advanced': {
      const visit = state.visits.at(-1);
      if (visit) {
        visit.leftAt = event.ts;
        visit.exit = { requestId: d.requestId, approver: d.approver, channel: d.channel, comment: d.comment, override: d.override };
      }
      sys(
        state,
        event,
        d.to == null ? 'Task complete' : `Phase ${d.from} → ${d.to}`,
        `Approved by ${d.approver} (${d.channel}), request ${d.requestId}.${d.override ? ` Override: ${d.override.reason}` : ''}`,
        true,
      );
      if (d.to === null || d.to === undefined) {
        state.status = 'complete';
        state.endedAt = event.ts;
      } else {
        state.phase = d.to;
        state.visits.push({ number: d.to, enteredAt: event.ts, enteredSeq: event.seq });
      }
      break;
    }
    case 'rollback.requested':
      state.rollbackRequests.set(d.requestId, {
        requestId: d.requestId,
        seq: event.seq,
        ts: event.ts,
        phase: d.phase ?? state.phase,
        reason: String(d.reason ?? ''),
        components: Array.isArray(d.components) ? d.components : [],
        targets: Array.isArray(d.targets) ? d.targets : [],
        manual: Array.isArray(d.manual) ? d.manual : [],
        planHash: String(d.planHash ?? ''),
        expiresAt: d.expiresAt,
        requestedBy: d.requestedBy ?? 'agent',
        status: 'pending',
      });
      state.rollbackOrder.push(d.requestId);
      sys(state, event, `Rollback requested (${d.requestId})`, `${(d.targets ?? []).length} restore step(s)${(d.components ?? []).length ? ` for ${(d.components as string[]).join(', ')}` : ''}. Reason: ${d.reason}`);
      break;
    case 'rollback.approved':
    case 'rollback.rejected':
    case 'rollback.voided': {
      const req = state.rollbackRequests.get(d.requestId);
      const verb = event.type === 'rollback.approved' ? 'approved' : event.type === 'rollback.rejected' ? 'rejected' : 'void';
      if (req && req.status === 'pending') {
        req.status = event.type === 'rollback.approved' ? 'approved' : event.type === 'rollback.rejected' ? 'rejected' : 'void';
        req.decision = { seq: event.seq, ts: event.ts, channel: d.channel, approver: d.approver, comment: d.comment, reason: d.reason, planHash: d.planHash };
      } else if (req && req.status === 'approved' && event.type === 'rollback.voided') {
        // An approval that was never used before it expired.
        req.status = 'void';
      }
      sys(
        state,
        event,
        `Rollback ${verb} (${d.requestId})`,
        event.type === 'rollback.voided' ? `Not executed: ${d.detail ?? d.reason}.` : `${verb === 'approved' ? 'Approved' : 'Rejected'} by ${d.approver} via ${d.channel}${d.comment ? `: "${d.comment}"` : '.'}`,
      );
      break;
    }
    case 'rollback.started': {
      const req = state.rollbackRequests.get(d.requestId);
      if (req && req.status === 'approved') {
        req.status = 'executed';
        req.execution = { seq: event.seq, ts: event.ts };
      }
      sys(state, event, `Rollback started (${d.requestId})`, `Executing the ${req?.targets.length ?? '?'} restore step(s) approved by ${req?.decision?.approver ?? '?'}.`);
      break;
    }
    case 'task.abandoned':
      state.status = 'abandoned';
      state.endedAt = event.ts;
      state.endReason = d.reason;
      break;
    case 'log.torn-tail-dropped':
      state.logNotes.push({ seq: event.seq, ts: event.ts, type: event.type, message: `Dropped an unterminated last line of ${d.bytes} bytes (saved as ${d.savedAs}).` });
      sys(state, event, 'Torn write dropped', state.logNotes.at(-1)!.message);
      break;
    case 'log.repaired':
      state.logNotes.push({
        seq: event.seq,
        ts: event.ts,
        type: event.type,
        message: `Log repaired by ${d.actor}: kept ${d.keptEvents} events, quarantined ${d.quarantinedBytes} bytes in ${d.quarantineFile}.`,
      });
      sys(state, event, 'Log repaired', state.logNotes.at(-1)!.message);
      break;
    case 'lock.force-released':
    case 'lock.stale-released': {
      const h = (d.holder ?? {}) as Data;
      const who = `${h.operation ?? 'an operation'} (pid ${h.pid} on ${h.host}${h.user ? `, ${h.user}` : ''})`;
      if (event.type === 'lock.force-released') {
        sys(state, event, 'Operation lock force-released', `The lock held by ${who} was released by ${d.forcedBy}${d.reason ? `: ${d.reason}` : '.'}`);
      } else {
        sys(state, event, 'Stale operation lock taken over', `The lock of ${who} had no heartbeat since ${d.lastHeartbeat}; taken over by ${d.takenOverBy}.`);
      }
      break;
    }
    default:
      break;
  }
  return state;
}

function sys(state: TaskState, event: StoredEvent, activity: string, content: string, isPhaseTransition?: boolean): void {
  state.systemLog.push({ seq: event.seq, ts: event.ts, phase: state.phase, activity, content, isPhaseTransition });
}

export function foldEvents(events: readonly StoredEvent[]): TaskState {
  const state = emptyState();
  for (const e of events) applyEvent(state, e);
  return state;
}

/** Keeps a TaskState current against a growing event array. */
export class TaskStateCache {
  private readonly states = new Map<number, { applied: number; head: string | null; state: TaskState }>();

  get(taskId: number, events: readonly StoredEvent[]): TaskState {
    let entry = this.states.get(taskId);
    // If the array we folded no longer matches (a repair cut the log), start again.
    if (entry && (entry.applied > events.length || (entry.applied > 0 && events[entry.applied - 1]?.hash !== entry.head))) {
      entry = undefined;
    }
    if (!entry) {
      entry = { applied: 0, head: null, state: emptyState() };
      this.states.set(taskId, entry);
    }
    for (let i = entry.applied; i < events.length; i++) applyEvent(entry.state, events[i]);
    entry.applied = events.length;
    entry.head = events.at(-1)?.hash ?? null;
    return entry.state;
  }

  forget(taskId: number): void {
    this.states.delete(taskId);
  }
}

export function latestOutcome(state: TaskState, phase: number, tool: string, ok?: boolean): ToolOutcome | undefined {
  const list = state.outcomesByKey.get(`${phase}:${tool}`);
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    if (ok === undefined || list[i].ok === ok) return list[i];
  }
  return undefined;
}

export function outcomesIn(state: TaskState, phase: number, tool: string): ToolOutcome[] {
  return state.outcomesByKey.get(`${phase}:${tool}`) ?? [];
}

export function pendingRequest(state: TaskState, now: Date = new Date()): TransitionRequest | undefined {
  for (let i = state.requestOrder.length - 1; i >= 0; i--) {
    const req = state.requests.get(state.requestOrder[i])!;
    if (req.status === 'pending' && req.from === state.phase && new Date(req.expiresAt) > now) return req;
  }
  return undefined;
}

/** The latest rollback request still waiting for the human (expired ones included: the CLI shows them). */
export function pendingRollbackRequest(state: TaskState): RollbackRequest | undefined {
  for (let i = state.rollbackOrder.length - 1; i >= 0; i--) {
    const req = state.rollbackRequests.get(state.rollbackOrder[i])!;
    if (req.status === 'pending') return req;
  }
  return undefined;
}

export function isFinalPhase(phase: number): boolean {
  return phase === FINAL_PHASE;
}
