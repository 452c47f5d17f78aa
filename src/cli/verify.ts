/** `deploy-mcp verify [id] [--repair]`: check (and, on request, repair) the hash chains. */
import type { CliOptions } from '../cli.js';
import { terminalApprover } from '../workflow/approvals.js';
import { CliError, openDeployments, parseTaskIdArg, runCli, style } from './common.js';
import { askLine } from './prompt.js';

export async function verify(opts: CliOptions, id: string | undefined): Promise<number> {
  return runCli(async () => {
    const deployments = await openDeployments(opts);
    const store = deployments.store;
    const one = parseTaskIdArg(id);
    const ids = one !== undefined ? [one] : await store.listTaskIds();
    if (ids.length === 0) {
      process.stdout.write('No tasks to verify.\n');
      return 0;
    }
    let bad = 0;
    for (const taskId of ids) {
      let report;
      try {
        report = await store.verify(taskId);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      if (report.ok) {
        const torn = report.tornTail ? style.yellow(` (an unterminated last line of ${report.tornTail.bytes} bytes will be dropped on next load: a write that never completed)`) : '';
        process.stdout.write(`task ${taskId}: ${style.green('OK')} — ${report.events} events, head ${report.head ?? '-'}${torn}\n`);
        continue;
      }
      bad++;
      const p = report.problem!;
      process.stdout.write(
        `task ${taskId}: ${style.red('BROKEN')} at ${store.backend === 's3' ? `event ${p.line}` : `line ${p.line} (byte ${p.byteOffset})`}: ${p.message}.\n` +
          `  ${report.events} events before it verify. The server refuses every tool on this task until it is resolved.\n`,
      );
      if (!opts.repair) {
        process.stdout.write(`  To cut the log at line ${p.line} (the rest is kept aside and the repair recorded): deploy-mcp verify ${taskId} --repair\n`);
        continue;
      }
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new CliError('verify --repair asks for confirmation in an interactive terminal; pass --yes to confirm non-interactively.', 2);
        const answer = await askLine(`Type "repair ${taskId}" to cut task ${taskId}'s log at line ${p.line}: `);
        if (answer.trim() !== `repair ${taskId}`) {
          process.stdout.write('  Not repaired.\n');
          continue;
        }
      }
      const repaired = await store.repair(taskId, terminalApprover());
      process.stdout.write(
        `  Repaired: kept ${repaired.keptEvents} events; ${repaired.quarantinedBytes} bytes moved to ${repaired.quarantinePath}. The repair is recorded as event ${repaired.event?.seq}.\n`,
      );
      bad--;
      await deployments.flushJournal(taskId);
    }
    return bad > 0 ? 3 : 0;
  });
}
