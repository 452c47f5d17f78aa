/** What the human-facing commands share: opening the project's tasks, and terminal styling. */
import path from 'node:path';
import type { CliOptions } from '../cli.js';
import { ConfigError, loadConfig, resolveStateDir } from '../config/index.js';
import { DeploymentService } from '../deployment.js';
import { Logger } from '../log.js';
import { openTaskStore } from '../state/open-store.js';
import { assertTaskId } from '../state/task-store.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export async function openDeployments(opts: CliOptions): Promise<DeploymentService> {
  const projectRoot = path.resolve(opts.project);
  let config = null;
  try {
    config = (await loadConfig({ projectRoot, configPath: opts.config }))?.config ?? null;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 78);
    throw err;
  }
  const stateDir = opts.stateDir ? path.resolve(projectRoot, opts.stateDir) : resolveStateDir(projectRoot, config);
  let store;
  try {
    store = await openTaskStore(config, stateDir);
  } catch (err) {
    throw new CliError(`Could not open the task state: ${(err as Error).message}`, 78);
  }
  return new DeploymentService({ projectRoot, config, store, log: new Logger('warning'), journalDelayMs: 0 });
}

export function parseTaskIdArg(id: string | undefined): number | undefined {
  if (id === undefined) return undefined;
  try {
    return assertTaskId(id);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

const useColor = () => !!process.stdout.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const wrap = (code: string) => (text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);
export const style = {
  bold: wrap('1'),
  dim: wrap('2'),
  green: wrap('32'),
  red: wrap('31'),
  yellow: wrap('33'),
  cyan: wrap('36'),
};

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function shortTime(ts: string): string {
  return ts.replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');
}

export async function runCli(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`deploy-mcp: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
