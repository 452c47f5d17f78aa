/**
 * The phase guard (SPEC §2): decides, before a tool runs, whether it may run. Pure functions; the
 * server supplies the resolved task state and performs no I/O for a refused call.
 */
import type { AnyToolDefinition, ToolPhases } from '../tool.js';
import { PHASES, phaseRef, type PhaseNumber } from './phases.js';
import { pendingRequest, type TaskState } from './task-state.js';

export type RefusalReason =
  | 'phase'
  | 'no-task'
  | 'read-only'
  | 'account-mismatch'
  | 'pending-approval'
  | 'journal-broken'
  | 'locked';

export interface PhaseRefJson {
  number: number;
  id: string;
  name: string;
}

export interface Refusal {
  refused: true;
  reason: RefusalReason;
  tool: string;
  taskId: number | null;
  currentPhase: PhaseRefJson | null;
  allowedPhases: PhaseRefJson[];
  nextStep: string;
  message: string;
}

export function allowedPhaseNumbers(phases: ToolPhases): PhaseNumber[] {
  if (phases === 'always' || phases === 'any') return PHASES.map((p) => p.number);
  return [...phases];
}

export function allowedPhaseRefs(phases: ToolPhases): PhaseRefJson[] {
  return allowedPhaseNumbers(phases).map((n) => phaseRef(n));
}

export function refusal(
  tool: AnyToolDefinition,
  reason: RefusalReason,
  message: string,
  nextStep: string,
  task: { taskId: number; phase: number } | null,
): Refusal {
  return {
    refused: true,
    reason,
    tool: tool.name,
    taskId: task?.taskId ?? null,
    currentPhase: task ? phaseRef(task.phase) : null,
    allowedPhases: allowedPhaseRefs(tool.phases),
    nextStep,
    message,
  };
}

/** Checks that need no task: read-only mode. */
export function checkMode(tool: AnyToolDefinition, readOnly: boolean, state: TaskState | null = null): Refusal | null {
  if (readOnly && !tool.annotations.readOnlyHint) {
    return refusal(
      tool,
      'read-only',
      `${tool.name} changes things, and this server runs read-only.`,
      'Restart the server without --read-only (and without readOnly: true in the config) to make changes.',
      state ? { taskId: state.taskId, phase: state.phase } : null,
    );
  }
  return null;
}

/** Checks against the resolved task: status, phase, pending approval. */
export function checkTask(tool: AnyToolDefinition, state: TaskState, now: Date = new Date()): Refusal | null {
  const task = { taskId: state.taskId, phase: state.phase };
  if (state.status !== 'active' && !tool.allowWhenEnded) {
    return refusal(
      tool,
      'phase',
      `Task ${state.taskId} is ${state.status}; ${tool.name} cannot run on it.`,
      'Start a new deployment with start-deployment, or inspect this one with deployment-status.',
      task,
    );
  }
  if (tool.phases !== 'always' && tool.phases !== 'any' && !tool.phases.includes(state.phase as PhaseNumber)) {
    const current = phaseRef(state.phase);
    const allowed = tool.phases.map((n) => `${n} (${phaseRef(n).name})`).join(', ');
    const later = tool.phases.some((n) => n > state.phase);
    return refusal(
      tool,
      'phase',
      `${tool.name} runs in phase ${allowed}; task ${state.taskId} is in phase ${current.number} (${current.name}).`,
      later
        ? `Finish phase ${current.number} first: call deployment-status to see its unmet exit criteria, then request-transition and wait for the human's approval.`
        : `That phase is over. Work with the tools of phase ${current.number}: deployment-status lists them.`,
      task,
    );
  }
  if (!tool.annotations.readOnlyHint && !tool.allowWhilePending) {
    const pending = pendingRequest(state, now);
    if (pending) {
      return refusal(
        tool,
        'pending-approval',
        `A request to leave phase ${pending.from} (${pending.requestId}) is waiting for the human; changes are frozen so the evidence they will approve stays what they were shown.`,
        `Ask the human to approve or reject it (in the client's prompt, or by running \`npx deploy-mcp approve ${state.taskId}\` / \`npx deploy-mcp reject ${state.taskId}\` in a terminal), then check deployment-status.`,
        task,
      );
    }
  }
  return null;
}
