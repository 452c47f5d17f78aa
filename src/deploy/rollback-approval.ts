/**
 * The rollback confirmation's two writes, each a read-decide-append under the task's append lock
 * so that two processes (the server and `deploy-mcp approve`, or two agents) cannot both decide a
 * request or both run it: the human's decision, and the claim that consumes an approved request.
 */
import type { DeploymentService } from '../deployment.js';
import { redactValue } from '../journal/redact.js';
import {
  claimRollbackRequest,
  decideRollbackRequest,
  type HumanDecision,
  type RollbackClaim,
  type RollbackDecisionOutcome,
} from '../workflow/approvals.js';
import { foldEvents, type RollbackRequest } from '../workflow/task-state.js';
import type { NewEvent } from '../state/task-store.js';

const redacted = (events: NewEvent[]): NewEvent[] => events.map((e) => ({ type: e.type, data: redactValue(e.data) }));

export async function decideRollback(
  deployments: DeploymentService,
  taskId: number,
  requestId: string,
  decision: HumanDecision,
): Promise<{ outcome: RollbackDecisionOutcome; message: string; request?: RollbackRequest }> {
  const { result } = await deployments.store.transact(taskId, (log) => {
    const verdict = decideRollbackRequest(foldEvents(log.events), requestId, decision, deployments.now());
    return { append: redacted(verdict.events), result: verdict };
  });
  await deployments.flushJournal(taskId);
  const state = await deployments.state(taskId);
  return { outcome: result.outcome, message: result.message, request: state.rollbackRequests.get(requestId) ?? result.request };
}

/** Consumes an approved request (appends `rollback.started`), or says why it may not run. */
export async function claimRollback(deployments: DeploymentService, taskId: number, requestId: string): Promise<RollbackClaim> {
  const { result } = await deployments.store.transact(taskId, (log) => {
    const claim = claimRollbackRequest(foldEvents(log.events), requestId, deployments.now());
    return { append: redacted(claim.events), result: claim };
  });
  deployments.scheduleJournal(taskId);
  return result;
}
