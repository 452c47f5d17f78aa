/** `deploy-mcp status` (phase timeline and criteria) and `deploy-mcp journal`. */
import type { CliOptions } from '../cli.js';
import type { DeploymentService } from '../deployment.js';
import { PHASES, phaseRef } from '../workflow/phases.js';
import { pendingRequest, type TaskState } from '../workflow/task-state.js';
import { CliError, formatDuration, openDeployments, parseTaskIdArg, runCli, shortTime, style } from './common.js';

export async function resolveForCli(deployments: DeploymentService, id: string | undefined): Promise<TaskState> {
  const resolved = await deployments.resolve(parseTaskIdArg(id));
  if (!resolved.ok) {
    throw new CliError(`${resolved.message}${resolved.reason === 'journal-broken' ? '' : id === undefined ? ' Name the task: deploy-mcp <command> <id>.' : ''}`, resolved.reason === 'journal-broken' ? 3 : 1);
  }
  return resolved.state;
}

export function renderStatus(deployments: DeploymentService, state: TaskState, now = new Date()): string {
  const lines: string[] = [];
  const statusText = state.status === 'active' ? style.green('active') : state.status === 'complete' ? style.cyan('complete') : style.yellow(state.status);
  lines.push(`${style.bold(`Task #${state.taskId}`)}  ${state.title}`);
  lines.push(`  ${state.environment} / ${state.component}   status: ${statusText}   branch: ${state.branch}`);
  if (state.pinned) lines.push(`  account ${state.pinned.account} (${state.pinned.region}), pinned by verify-credentials`);
  lines.push('', style.bold('Phases'));
  for (const phase of PHASES) {
    const visit = state.visits.find((v) => v.number === phase.number);
    const label = `${phase.number} ${phase.name}`.padEnd(30);
    if (!visit) {
      lines.push(`  ${style.dim('·')} ${style.dim(label)}`);
      continue;
    }
    const end = visit.leftAt ? new Date(visit.leftAt) : state.status === 'active' ? now : new Date(state.endedAt ?? now);
    const took = formatDuration(end.getTime() - new Date(visit.enteredAt).getTime());
    if (visit.leftAt) {
      const by = visit.exit ? `approved by ${visit.exit.approver} (${visit.exit.channel})${visit.exit.override ? style.yellow(' OVERRIDE') : ''}` : '';
      lines.push(`  ${style.green('✔')} ${label} ${shortTime(visit.enteredAt)} → ${shortTime(visit.leftAt)}  ${took.padStart(7)}  ${by}`);
    } else {
      lines.push(`  ${state.status === 'active' ? style.cyan('▶') : style.yellow('■')} ${style.bold(label)} since ${shortTime(visit.enteredAt)}  ${took.padStart(7)}`);
    }
  }
  if (state.status === 'active') {
    const criteria = deployments.criteria(state);
    const current = phaseRef(state.phase);
    lines.push('', style.bold(`Exit criteria — phase ${current.number} (${current.name})`));
    for (const c of criteria) {
      lines.push(`  ${c.met ? style.green('✔') : style.red('✘')} ${c.id.padEnd(24)} ${c.met ? c.evidence : style.red(c.evidence)}`);
    }
    const pending = pendingRequest(state, now);
    if (pending) {
      lines.push(
        '',
        style.yellow(`Waiting for approval: ${pending.requestId} (${pending.unmet.length ? `${pending.unmet.length} unmet, override: ${pending.override?.reason}` : 'all criteria met'}), expires ${shortTime(pending.expiresAt)}`),
        `  Decide with: deploy-mcp approve ${state.taskId}   or   deploy-mcp reject ${state.taskId}`,
      );
    }
  } else if (state.endReason) {
    lines.push('', `Ended: ${state.endReason}`);
  }
  lines.push('', style.dim(`${state.eventCount} events, head ${state.head?.hash.slice(0, 16) ?? '-'}…  journal: ${deployments.journalPath(state.taskId)}`));
  if (state.refusals) lines.push(style.dim(`${state.refusals} refused tool call(s) recorded.`));
  return lines.join('\n');
}

export async function status(opts: CliOptions, id: string | undefined): Promise<number> {
  return runCli(async () => {
    const deployments = await openDeployments(opts);
    if (id === undefined) {
      const all = await deployments.summaries();
      if (all.length === 0) {
        process.stdout.write('No deployment tasks yet. The agent starts one with start-deployment.\n');
        return 0;
      }
      const open = all.filter((t) => t.status === 'active');
      if (open.length !== 1) {
        for (const t of all) {
          process.stdout.write(
            `#${String(t.taskId).padEnd(4)} ${t.status.padEnd(14)} ${t.phase ? `phase ${t.phase.number} ${t.phase.name}`.padEnd(34) : ''.padEnd(34)} ${t.environment}/${t.component}  ${t.title}${t.broken ? `  (${t.broken})` : ''}\n`,
          );
        }
        return all.some((t) => t.broken) ? 3 : 0;
      }
    }
    const state = await resolveForCli(deployments, id);
    process.stdout.write(`${renderStatus(deployments, state)}\n`);
    return 0;
  });
}

export async function journal(opts: CliOptions, id: string | undefined): Promise<number> {
  return runCli(async () => {
    const deployments = await openDeployments(opts);
    const state = await resolveForCli(deployments, id);
    process.stdout.write(await deployments.renderJournal(state.taskId));
    return 0;
  });
}
