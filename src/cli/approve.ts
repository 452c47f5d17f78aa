/**
 * `deploy-mcp approve|reject [id]`: the terminal approval channel (SPEC §3). It shows the request
 * and the evidence, insists on an interactive terminal, and asks for a typed confirmation, so
 * that an agent piping input into it is refused.
 */
import type { CliOptions } from '../cli.js';
import { evidenceHash } from '../workflow/criteria.js';
import { terminalApprover, transitionPhrase } from '../workflow/approvals.js';
import { phaseRef } from '../workflow/phases.js';
import { pendingRollbackRequest, type RollbackRequest, type TaskState, type TransitionRequest } from '../workflow/task-state.js';
import { decideRollback } from '../deploy/rollback-approval.js';
import { describeTarget, type RestoreTarget } from '../deploy/rollback-plan.js';
import type { DeploymentService } from '../deployment.js';
import { CliError, openDeployments, runCli, shortTime, style } from './common.js';
import { Prompter } from './prompt.js';
import { resolveForCli } from './status.js';

export function rollbackConfirmationPhrase(verb: 'approve' | 'reject'): string {
  return `${verb} rollback`;
}

/**
 * The typed confirmation both kinds of request share: the exact phrase, then a comment
 * (a reason, required, for a rejection). Returns the comment, or null when nothing is to be recorded.
 */
async function confirmDecision(prompter: Prompter, verb: 'approve' | 'reject', phrase: string, what: string): Promise<string | null> {
  const typed = await prompter.ask(`Type "${phrase}" to ${verb}, anything else to leave it pending: `);
  if (typed === null || typed.trim() !== phrase) {
    process.stdout.write(`Nothing recorded; ${what} is still pending.\n`);
    return null;
  }
  const comment = ((await prompter.ask(verb === 'reject' ? 'Reason (required): ' : 'Comment (optional): ')) ?? '').trim();
  if (verb === 'reject' && !comment) {
    process.stdout.write('A rejection needs a reason; nothing recorded.\n');
    return null;
  }
  return comment;
}

export function confirmationPhrase(verb: 'approve' | 'reject', request: TransitionRequest): string {
  return `${verb} ${request.to === null ? 'complete' : phaseRef(request.to).id}`;
}

function latestRequest(state: TaskState): TransitionRequest | undefined {
  const id = state.requestOrder.at(-1);
  return id ? state.requests.get(id) : undefined;
}

export async function decideCommand(opts: CliOptions, verb: 'approve' | 'reject', id: string | undefined): Promise<number> {
  return runCli(async () => {
    if (!process.stdin.isTTY) {
      throw new CliError(
        `\`deploy-mcp ${verb}\` must be run by a person in an interactive terminal (stdin is not a TTY). Approvals cannot be scripted or given by the agent.`,
        2,
      );
    }
    const deployments = await openDeployments(opts);
    const state = await resolveForCli(deployments, id);
    if (state.status !== 'active') throw new CliError(`Task ${state.taskId} is ${state.status}; there is nothing to ${verb}.`);
    // A rollback waiting for confirmation comes first: it is what an incident is waiting on.
    const rollback = pendingRollbackRequest(state);
    if (rollback) return decideRollbackInTerminal(deployments, state, rollback, verb);
    const request = latestRequest(state);
    const now = deployments.now();
    if (!request || request.status !== 'pending' || request.from !== state.phase) {
      throw new CliError(`Task ${state.taskId} has no pending transition request. The agent makes one with request-transition.`);
    }

    const criteria = deployments.criteria(state);
    const changed = evidenceHash(criteria) !== request.evidenceHash;
    const expired = new Date(request.expiresAt) <= now;
    const from = phaseRef(request.from);
    const out: string[] = [
      '',
      style.bold(`Task #${state.taskId}: ${state.title}`) + `  (${state.environment} / ${state.component})`,
      `Request ${request.requestId} by ${request.requestedBy}, ${shortTime(request.ts)}; expires ${shortTime(request.expiresAt)}`,
      '',
      style.bold(transitionPhrase(from.number, request.to)),
      '',
      `Summary from the agent:\n  ${request.summary.replace(/\n/g, '\n  ')}`,
      '',
      style.bold('Exit criteria as shown in the request:'),
      ...request.criteria.map((c) => `  ${c.met ? style.green('✔') : style.red('✘ UNMET')} ${c.text}\n      ${c.evidence}`),
    ];
    if (request.override) out.push('', style.yellow(`OVERRIDE requested: ${request.unmet.length} criteria unmet. Reason: ${request.override.reason}`));
    if (changed) out.push('', style.red('The evidence has changed since this request was made: approving will void it instead.'));
    if (expired) out.push('', style.red('This request has expired: approving will void it instead.'));
    process.stdout.write(`${out.join('\n')}\n\n`);

    const phrase = confirmationPhrase(verb, request);
    const prompter = new Prompter();
    try {
      const comment = await confirmDecision(prompter, verb, phrase, 'the request');
      if (comment === null) return 1;
      const result = await deployments.decide(state.taskId, request.requestId, {
        approve: verb === 'approve',
        channel: 'terminal',
        approver: terminalApprover(),
        comment: comment || undefined,
        reason: verb === 'reject' ? 'rejected' : undefined,
      });
      const ok = result.outcome === 'advanced' || result.outcome === 'completed' || result.outcome === 'rejected';
      process.stdout.write(`${ok ? style.green(result.message) : style.red(result.message)}\n`);
      return ok ? 0 : 1;
    } finally {
      prompter.close();
    }
  });
}

/** The terminal channel for a rollback request: show exactly what will be restored, then a typed phrase. */
async function decideRollbackInTerminal(deployments: DeploymentService, state: TaskState, request: RollbackRequest, verb: 'approve' | 'reject'): Promise<number> {
  const expired = new Date(request.expiresAt) <= deployments.now();
  const transition = latestRequest(state);
  const targets = request.targets as unknown as RestoreTarget[];
  const out: string[] = [
    '',
    style.bold(`Task #${state.taskId}: ${state.title}`) + `  (${state.environment} / ${state.component}), phase ${phaseRef(state.phase).number} (${phaseRef(state.phase).name})`,
    `Rollback request ${request.requestId} by ${request.requestedBy}, ${shortTime(request.ts)}; expires ${shortTime(request.expiresAt)}`,
    '',
    style.bold(style.red('ROLL BACK this deployment')),
    '',
    `Reason from the agent:\n  ${request.reason.replace(/\n/g, '\n  ')}`,
    '',
    style.bold(`What will be restored (${targets.length} step(s), each verified afterwards):`),
    ...targets.map((t, i) => `  ${i + 1}. ${describeTarget(t)}`),
  ];
  if (request.manual.length) out.push('', style.bold('Not restored by this (manual follow-up, see rollback.md):'), ...request.manual.map((m) => `  - ${m.title}`));
  out.push('', `After your approval the agent runs it with \`rollback\` and requestId ${request.requestId}; it runs once.`);
  if (transition && transition.status === 'pending' && transition.from === state.phase) {
    out.push(style.yellow(`A phase transition request (${transition.requestId}) is also pending: run this command again for it.`));
  }
  if (expired) out.push('', style.red('This request has expired: approving will void it instead.'));
  process.stdout.write(`${out.join('\n')}\n\n`);

  const phrase = rollbackConfirmationPhrase(verb);
  const prompter = new Prompter();
  try {
    const comment = await confirmDecision(prompter, verb, phrase, 'the rollback request');
    if (comment === null) return 1;
    const result = await decideRollback(deployments, state.taskId, request.requestId, {
      approve: verb === 'approve',
      channel: 'terminal',
      approver: terminalApprover(),
      comment: comment || undefined,
      reason: verb === 'reject' ? 'rejected' : undefined,
    });
    const ok = result.outcome === 'approved' || result.outcome === 'rejected';
    process.stdout.write(`${ok ? style.green(result.message) : style.red(result.message)}\n`);
    return ok ? 0 : 1;
  } finally {
    prompter.close();
  }
}
