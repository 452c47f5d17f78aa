/**
 * Transition requests and the human's decision on them (SPEC §3). Pure: these functions say which
 * events to append; the caller appends them under the task's lock with fresh state.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { NewEvent } from '../state/task-store.js';
import { evidenceHash, type CriterionResult } from './criteria.js';
import { FINAL_PHASE, phaseRef, type PhaseNumber } from './phases.js';
import type { RollbackRequest, TaskState, TransitionRequest } from './task-state.js';

export type ApprovalChannel = 'elicitation' | 'terminal';

export interface HumanDecision {
  approve: boolean;
  channel: ApprovalChannel;
  approver: string;
  comment?: string;
  /** For a rejection: how the human said no. */
  reason?: 'declined' | 'cancelled' | 'rejected';
}

export type DecisionOutcome = 'advanced' | 'completed' | 'rejected' | 'evidence-changed' | 'expired' | 'not-pending';

export function newRequestId(): string {
  return `tr-${randomBytes(6).toString('hex')}`;
}

export function nextPhase(phase: number): PhaseNumber | null {
  return phase >= FINAL_PHASE ? null : ((phase + 1) as PhaseNumber);
}

/** "Move from phase 1 (Pre-Deployment Analysis) to phase 2 (Environment Preparation)". */
export function transitionPhrase(from: number, to: number | null): string {
  const f = phaseRef(from);
  return to === null ? `Complete the task (leave phase ${f.number}, ${f.name})` : `Move from phase ${f.number} (${f.name}) to ${describeTarget(to)}`;
}

export function describeTarget(to: number | null): string {
  if (to === null) return 'complete the task';
  const p = phaseRef(to);
  return `phase ${p.number} (${p.name})`;
}

export function requestEvent(
  state: TaskState,
  criteria: CriterionResult[],
  opts: { summary: string; override?: { reason: string }; expiresAfterMs: number; requestedBy: string; now?: Date },
): { event: NewEvent; requestId: string; expiresAt: string; evidenceHash: string } {
  const now = opts.now ?? new Date();
  const requestId = newRequestId();
  const expiresAt = new Date(now.getTime() + opts.expiresAfterMs).toISOString();
  const hash = evidenceHash(criteria);
  return {
    requestId,
    expiresAt,
    evidenceHash: hash,
    event: {
      type: 'transition.requested',
      data: {
        requestId,
        from: state.phase,
        to: nextPhase(state.phase),
        summary: opts.summary,
        evidenceHash: hash,
        criteria: criteria.map(({ id, text, met, evidence }) => ({ id, text, met, evidence })),
        unmet: criteria.filter((c) => !c.met).map((c) => c.id),
        override: opts.override,
        expiresAt,
        requestedBy: opts.requestedBy,
      },
    },
  };
}

/**
 * The human's decision on a request, checked against the state as it is *now*: an approval of a
 * request whose evidence changed, that expired, or that is no longer pending does not advance.
 */
export function decideRequest(
  state: TaskState,
  requestId: string,
  decision: HumanDecision,
  currentCriteria: CriterionResult[],
  now: Date = new Date(),
): { outcome: DecisionOutcome; events: NewEvent[]; request?: TransitionRequest; message: string } {
  const request = state.requests.get(requestId);
  if (!request || request.status !== 'pending' || request.from !== state.phase || state.status !== 'active') {
    return {
      outcome: 'not-pending',
      events: [],
      request,
      message: request
        ? `Request ${requestId} is ${request.status === 'pending' ? 'for another phase' : request.status}; nothing to decide.`
        : `There is no request ${requestId}.`,
    };
  }
  const base = { requestId, channel: decision.channel, approver: decision.approver };
  if (new Date(request.expiresAt) <= now) {
    return {
      outcome: 'expired',
      request,
      events: [{ type: 'transition.voided', data: { ...base, reason: 'expired', detail: `expired at ${request.expiresAt}` } }],
      message: `Request ${requestId} expired at ${request.expiresAt}; it was not approved. The agent must request the transition again.`,
    };
  }
  if (!decision.approve) {
    return {
      outcome: 'rejected',
      request,
      events: [
        {
          type: 'transition.rejected',
          data: { ...base, reason: decision.reason ?? 'rejected', comment: decision.comment, evidenceHash: request.evidenceHash },
        },
      ],
      message: `Request ${requestId} was ${decision.reason ?? 'rejected'} by ${decision.approver}.`,
    };
  }
  const currentHash = evidenceHash(currentCriteria);
  if (currentHash !== request.evidenceHash) {
    return {
      outcome: 'evidence-changed',
      request,
      events: [
        {
          type: 'transition.voided',
          data: {
            ...base,
            reason: 'evidence-changed',
            detail: 'the exit-criteria evidence changed after the request was made',
            shownEvidenceHash: request.evidenceHash,
            currentEvidenceHash: currentHash,
          },
        },
      ],
      message: `The evidence changed after request ${requestId} was made, so it is void and nothing was approved. The agent must request the transition again.`,
    };
  }
  const to = request.to;
  return {
    outcome: to === null ? 'completed' : 'advanced',
    request,
    events: [
      { type: 'transition.approved', data: { ...base, comment: decision.comment, evidenceHash: request.evidenceHash, override: request.override } },
      {
        type: 'phase.advanced',
        data: { from: request.from, to, ...base, comment: decision.comment, override: request.override },
      },
    ],
    message:
      to === null
        ? `Approved by ${decision.approver}: task ${state.taskId} is complete.`
        : `Approved by ${decision.approver}: task ${state.taskId} moved to phase ${to} (${phaseRef(to).name}).`,
  };
}

/** The person at this terminal, for the terminal channel. */
export function terminalApprover(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* keep USER */
  }
  return `${user}@${os.hostname()}`;
}

// ---- Rollback confirmation (SPEC §3: `rollback` needs its own human confirmation) -------------

/** The channels a human decides through; an approval from anywhere else never executes. */
export const HUMAN_CHANNELS: readonly ApprovalChannel[] = ['elicitation', 'terminal'];

export function newRollbackRequestId(): string {
  return `rb-${randomBytes(6).toString('hex')}`;
}

export function rollbackRequestEvent(
  state: TaskState,
  opts: {
    reason: string;
    components: string[];
    targets: Record<string, unknown>[];
    manual: { component: string; title: string }[];
    planHash: string;
    expiresAfterMs: number;
    requestedBy: string;
    now?: Date;
  },
): { event: NewEvent; requestId: string; expiresAt: string } {
  const now = opts.now ?? new Date();
  const requestId = newRollbackRequestId();
  const expiresAt = new Date(now.getTime() + opts.expiresAfterMs).toISOString();
  return {
    requestId,
    expiresAt,
    event: {
      type: 'rollback.requested',
      data: {
        requestId,
        phase: state.phase,
        reason: opts.reason,
        components: opts.components,
        targets: opts.targets,
        manual: opts.manual,
        planHash: opts.planHash,
        expiresAt,
        requestedBy: opts.requestedBy,
      },
    },
  };
}

export type RollbackDecisionOutcome = 'approved' | 'rejected' | 'expired' | 'not-pending';

/** The human's decision on a rollback request, checked against the state as it is now. */
export function decideRollbackRequest(
  state: TaskState,
  requestId: string,
  decision: HumanDecision,
  now: Date = new Date(),
): { outcome: RollbackDecisionOutcome; events: NewEvent[]; request?: RollbackRequest; message: string } {
  const request = state.rollbackRequests.get(requestId);
  if (!request || request.status !== 'pending' || state.status !== 'active') {
    return {
      outcome: 'not-pending',
      events: [],
      request,
      message: request ? `Rollback request ${requestId} is ${request.status === 'pending' ? `pending on a ${state.status} task` : request.status}; nothing to decide.` : `There is no rollback request ${requestId}.`,
    };
  }
  const base = { requestId, channel: decision.channel, approver: decision.approver };
  if (new Date(request.expiresAt) <= now) {
    return {
      outcome: 'expired',
      request,
      events: [{ type: 'rollback.voided', data: { ...base, reason: 'expired', detail: `expired at ${request.expiresAt}` } }],
      message: `Rollback request ${requestId} expired at ${request.expiresAt}; it was not approved. The agent must request the rollback again.`,
    };
  }
  if (!decision.approve) {
    return {
      outcome: 'rejected',
      request,
      events: [{ type: 'rollback.rejected', data: { ...base, reason: decision.reason ?? 'rejected', comment: decision.comment, planHash: request.planHash } }],
      message: `Rollback request ${requestId} was ${decision.reason ?? 'rejected'} by ${decision.approver}; nothing was restored.`,
    };
  }
  return {
    outcome: 'approved',
    request,
    events: [{ type: 'rollback.approved', data: { ...base, comment: decision.comment, planHash: request.planHash } }],
    message: `Rollback request ${requestId} approved by ${decision.approver}: the agent's next rollback call with this requestId restores the ${request.targets.length} step(s) shown.`,
  };
}

export type RollbackClaim =
  | { ok: true; request: RollbackRequest; events: NewEvent[] }
  | {
      ok: false;
      reason: 'unknown' | 'ended' | 'pending' | 'rejected' | 'void' | 'executed' | 'expired' | 'not-human';
      message: string;
      request?: RollbackRequest;
      events: NewEvent[];
    };

/**
 * Whether a rollback request may run now, and the event that consumes it: only a request a human
 * approved through elicitation or the terminal, for this exact plan, not expired and never run.
 */
export function claimRollbackRequest(state: TaskState, requestId: string, now: Date = new Date()): RollbackClaim {
  const request = state.rollbackRequests.get(requestId);
  const no = (reason: Exclude<RollbackClaim, { ok: true }>['reason'], message: string, events: NewEvent[] = []): RollbackClaim => ({ ok: false, reason, message, request, events });
  if (!request) return no('unknown', `Task ${state.taskId} has no rollback request ${requestId}.`);
  if (state.status !== 'active') return no('ended', `Task ${state.taskId} is ${state.status}; nothing more can be rolled back on it.`);
  const expired = new Date(request.expiresAt) <= now;
  const voidIt = [{ type: 'rollback.voided', data: { requestId, reason: 'expired', detail: `expired at ${request.expiresAt} before it ran` } }];
  switch (request.status) {
    case 'pending':
      return expired
        ? no('expired', `Rollback request ${requestId} expired at ${request.expiresAt} without a decision; nothing was restored.`, voidIt)
        : no('pending', `Rollback request ${requestId} is still waiting for the human.`);
    case 'rejected':
      return no('rejected', `Rollback request ${requestId} was ${request.decision?.reason ?? 'rejected'} by ${request.decision?.approver ?? 'the human'}${request.decision?.comment ? `: "${request.decision.comment}"` : ''}.`);
    case 'void':
      return no('void', `Rollback request ${requestId} is void (${request.decision?.reason ?? 'expired'}).`);
    case 'executed':
      return no('executed', `Rollback request ${requestId} already ran (event seq ${request.execution?.seq}); a request runs at most once.`);
    case 'approved':
      break;
  }
  if (!request.decision || !HUMAN_CHANNELS.includes(request.decision.channel as ApprovalChannel) || request.decision.planHash !== request.planHash) {
    return no('not-human', `Rollback request ${requestId} has no human approval of its plan through the client form or \`deploy-mcp approve\`.`);
  }
  if (expired) return no('expired', `The approval of rollback request ${requestId} was not used before the request expired at ${request.expiresAt}; nothing was restored.`, voidIt);
  return { ok: true, request, events: [{ type: 'rollback.started', data: { requestId, planHash: request.planHash, approver: request.decision.approver, channel: request.decision.channel } }] };
}
