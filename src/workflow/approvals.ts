/**
 * Transition requests and the human's decision on them (SPEC §3). Pure: these functions say which
 * events to append; the caller appends them under the task's lock with fresh state.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { NewEvent } from '../state/task-store.js';
import { evidenceHash, type CriterionResult } from './criteria.js';
import { FINAL_PHASE, phaseRef, type PhaseNumber } from './phases.js';
import type { TaskState, TransitionRequest } from './task-state.js';

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
