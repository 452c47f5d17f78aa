/**
 * `deploy-mcp unlock <id>`: force-releases a task's operation lock when its holder is gone but
 * its lock is not yet stale (or will never be: a hung process that still heartbeats). A person
 * decides this, in a terminal or with --yes; the release is journaled with who forced it.
 */
import type { CliOptions } from '../cli.js';
import { terminalApprover } from '../workflow/approvals.js';
import { CliError, openDeployments, parseTaskIdArg, runCli, shortTime, style } from './common.js';
import { Prompter } from './prompt.js';

export async function unlock(opts: CliOptions, id: string | undefined): Promise<number> {
  return runCli(async () => {
    const taskId = parseTaskIdArg(id);
    if (taskId === undefined) throw new CliError('Say which task to unlock: deploy-mcp unlock <id>', 2);
    const deployments = await openDeployments(opts);
    const store = deployments.store;
    if (!store.forceUnlock) throw new CliError(`The ${store.backend} state backend cannot force-release locks.`);
    const holder = await store.lockHolder(taskId);
    if (!holder) {
      process.stdout.write(`Task ${taskId}'s operation lock is free (a lock whose holder died or went silent is taken over automatically).\n`);
      return 0;
    }
    const beat = (holder as { heartbeatAt?: string }).heartbeatAt;
    process.stdout.write(
      [
        style.bold(`Task ${taskId} is locked by ${holder.operation}`),
        `  holder: pid ${holder.pid} on ${holder.host}${holder.user ? ` (${holder.user})` : ''}, since ${shortTime(holder.since)}${beat ? `, last heartbeat ${shortTime(beat)}` : ''}`,
        style.yellow('  Release it only if that operation is no longer running: two operations on one task at once can leave AWS half-changed.'),
        '',
      ].join('\n'),
    );
    let reason: string | undefined;
    if (!opts.yes) {
      if (!process.stdin.isTTY) {
        throw new CliError('unlock asks for confirmation in an interactive terminal; pass --yes to confirm non-interactively.', 2);
      }
      const prompter = new Prompter();
      try {
        const typed = await prompter.ask(`Type "unlock ${taskId}" to release it: `);
        if (typed === null || typed.trim() !== `unlock ${taskId}`) {
          process.stdout.write('Not released.\n');
          return 1;
        }
        reason = ((await prompter.ask('Reason (optional, journaled): ')) ?? '').trim() || undefined;
      } finally {
        prompter.close();
      }
    }
    const report = await store.forceUnlock(taskId, terminalApprover(), reason);
    if (!report.released) {
      process.stdout.write('The lock was released meanwhile; nothing to do.\n');
      return 0;
    }
    process.stdout.write(
      `${style.green('Released.')} Journaled as event ${report.event?.seq} (lock.force-released by ${terminalApprover()}).\n`,
    );
    await deployments.flushJournal(taskId);
    await store.close?.();
    return 0;
  });
}
