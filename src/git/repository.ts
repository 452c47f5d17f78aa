/**
 * The little git the deployment needs, through simple-git: where the repository is, what HEAD
 * is, whether the tree is clean, the deployment branch, tracked files, history since a base.
 * Every failure becomes a ToolError that says what to do next; git never prompts (no terminal
 * behind an MCP server) and never runs longer than its timeout.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import type { SimpleGit, simpleGit as SimpleGitFactory } from 'simple-git';
import { ToolError } from '../tool.js';

/** Longest a single git command may stay silent before it is killed. */
const GIT_TIMEOUT_MS = 120_000;

export interface GitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Interactive helpers no command here needs (nothing is edited or paged). */
const DROPPED_ENV = new Set(['editor', 'visual', 'git_editor', 'git_sequence_editor', 'pager', 'git_pager', 'git_external_diff']);

/**
 * simple-git vets an explicitly passed environment against its list of dangerous variables
 * (meant for untrusted input). Ours is the server's own environment — the user's git setup
 * (`GIT_SSH_COMMAND` for a deploy key, `GIT_ASKPASS`, `GIT_CONFIG_*` from CI) — so the
 * categories it uses are allowed; git arguments are still vetted (we pass no `-c` options).
 */
const ENV_FLAGS: Record<string, string> = {
  git_askpass: 'allowUnsafeAskPass',
  ssh_askpass: 'allowUnsafeAskPass',
  git_config_global: 'allowUnsafeConfigPaths',
  git_config_system: 'allowUnsafeConfigPaths',
  git_config: 'allowUnsafeConfigPaths',
  git_exec_path: 'allowUnsafeConfigPaths',
  prefix: 'allowUnsafeConfigPaths',
  git_config_count: 'allowUnsafeConfigEnvCount',
  git_proxy_command: 'allowUnsafeGitProxy',
  git_template_dir: 'allowUnsafeTemplateDir',
  git_ssh: 'allowUnsafeSshCommand',
  git_ssh_command: 'allowUnsafeSshCommand',
};
/** Config keys CI sets through GIT_CONFIG_KEY_n, and the category each needs. */
const CONFIG_FLAGS: Record<string, string> = {
  'core.sshcommand': 'allowUnsafeSshCommand',
  'core.askpass': 'allowUnsafeAskPass',
  'credential.helper': 'allowUnsafeCredentialHelper',
  'core.hookspath': 'allowUnsafeHooksPath',
  'core.gitproxy': 'allowUnsafeGitProxy',
  'core.fsmonitor': 'allowUnsafeFsMonitor',
  'protocol.allow': 'allowUnsafeProtocolOverride',
};

export function gitEnvironment(base: NodeJS.ProcessEnv = process.env): { env: Record<string, string>; unsafe: Record<string, boolean> } {
  const env: Record<string, string> = {};
  const unsafe: Record<string, boolean> = { allowUnsafeSshCommand: true };
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined) continue;
    const lower = key.toLowerCase();
    if (DROPPED_ENV.has(lower)) continue;
    env[key] = value;
    const flag = ENV_FLAGS[lower];
    if (flag) unsafe[flag] = true;
    if (/^git_config_key_\d+$/.test(lower)) {
      const configKey = value.toLowerCase().trim();
      const match = Object.entries(CONFIG_FLAGS).find(([k]) => configKey === k || configKey.startsWith(`${k}.`));
      if (match) unsafe[match[1]] = true;
      if (/^(?:alias|filter|diff|merge|mergetool|remote)\./.test(configKey)) Object.assign(unsafe, { allowUnsafeAlias: true, allowUnsafeFilter: true, allowUnsafeDiffExternal: true, allowUnsafeDiffTextConv: true, allowUnsafeMergeDriver: true, allowUnsafePack: true });
    }
  }
  // An MCP server has no terminal: a credential prompt would hang until the timeout.
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_SSH_COMMAND = base.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes';
  return { env, unsafe };
}

/** simple-git is loaded on the first git call, not at server start (≈50 ms of a cold start). */
let loadedSimpleGit: typeof SimpleGitFactory | null = null;
function simpleGitFactory(): typeof SimpleGitFactory {
  loadedSimpleGit ??= (createRequire(import.meta.url)('simple-git') as { simpleGit: typeof SimpleGitFactory }).simpleGit;
  return loadedSimpleGit;
}

export function gitAt(dir: string, opts: GitOptions = {}): SimpleGit {
  const { env, unsafe } = gitEnvironment();
  const git = simpleGitFactory()({
    baseDir: dir,
    timeout: { block: opts.timeoutMs ?? GIT_TIMEOUT_MS },
    unsafe,
    ...(opts.signal ? { abort: opts.signal } : {}),
  });
  return git.env(env);
}

/** The text git printed for a failed command, without simple-git's decoration. */
export function gitMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+$/, '').split('\n').filter((l) => l.trim()).slice(0, 6).join(' ').slice(0, 500);
}

/** `https://user:token@host/x.git` → `https://host/x.git`. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/i, '$1');
}

/** Runs a git command whose failure only means "no" (exit 1 for `rev-parse --verify -q`). */
async function tryRaw(git: SimpleGit, args: string[]): Promise<string | null> {
  try {
    return (await git.raw(args)).trim();
  } catch (err) {
    rethrowAbort(err);
    return null;
  }
}

/** The request was cancelled: an AbortError, or simple-git's abort plugin stopping git. */
function isAbort(err: unknown): boolean {
  const e = err as { name?: string; message?: string; plugin?: string };
  return e?.name === 'AbortError' || e?.plugin === 'abort' || /^Abort (?:signal received|already signaled)/.test(e?.message ?? '');
}

function rethrowAbort(err: unknown): void {
  if (isAbort(err)) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
}

export interface RepositoryInfo {
  git: SimpleGit;
  /** Absolute path of the working tree's top level. */
  top: string;
}

/** The repository that contains `dir`, or a ToolError saying there is none. */
export async function openRepository(dir: string, opts: GitOptions = {}): Promise<RepositoryInfo> {
  const git = gitAt(dir, opts);
  let top: string;
  try {
    top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
  } catch (err) {
    rethrowAbort(err);
    const message = gitMessage(err);
    if (/ENOENT|spawn git/i.test(message)) {
      throw new ToolError('git-missing', 'git is not installed or not on the PATH of the deploy-mcp server.', 'Install git (and restart the MCP client so the server sees it), then call the tool again.');
    }
    if (/not a git repository/i.test(message)) {
      throw new ToolError(
        'not-a-repository',
        `${dir} is not inside a git repository, so there is nothing to branch, tag or scan.`,
        'Run `git init` and commit the project there (or start deploy-mcp in the repository root), then call the tool again.',
      );
    }
    if (/dubious ownership/i.test(message)) {
      throw new ToolError('git-unsafe-directory', `git refuses to work in ${dir}: ${message}`, `If the directory is yours, mark it safe with \`git config --global --add safe.directory ${dir}\`, then call the tool again.`);
    }
    throw new ToolError('git-failed', `git could not open the repository at ${dir}: ${message}`, 'Check the repository with `git status` in a terminal, fix what it reports, then call the tool again.');
  }
  return { git, top: path.resolve(top) };
}

/** The commit HEAD points at, or a ToolError on an empty repository. */
export async function headCommit(git: SimpleGit): Promise<string> {
  const head = await tryRaw(git, ['rev-parse', '--verify', '-q', 'HEAD^{commit}']);
  if (!head) {
    throw new ToolError('no-commits', 'The repository has no commits yet, so there is no base to deploy from.', 'Commit the project (git add -A && git commit), then call create-branch again.');
  }
  return head;
}

/** The checked-out branch, or null on a detached HEAD. */
export async function currentBranch(git: SimpleGit): Promise<string | null> {
  return (await tryRaw(git, ['symbolic-ref', '-q', '--short', 'HEAD'])) || null;
}

export async function branchCommit(git: SimpleGit, branch: string): Promise<string | null> {
  return tryRaw(git, ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`]);
}

export async function isAncestor(git: SimpleGit, ancestor: string, of: string): Promise<boolean> {
  return (await tryRaw(git, ['merge-base', '--is-ancestor', ancestor, of])) !== null;
}

export async function commitExists(git: SimpleGit, sha: string): Promise<boolean> {
  if (!/^[0-9a-f]{7,64}$/i.test(sha)) return false;
  return (await tryRaw(git, ['cat-file', '-e', `${sha}^{commit}`])) !== null;
}

export interface Change {
  /** Two-letter porcelain status (`M `, `??`, `R `…). */
  status: string;
  path: string;
}

/**
 * Uncommitted changes (staged, unstaged, untracked; ignored files excluded), leaving out paths
 * under `exclude` (the deploy-mcp state directory, relative to the top level): the server writes
 * there itself on every call.
 */
export async function uncommittedChanges(git: SimpleGit, exclude: string[] = []): Promise<Change[]> {
  let raw: string;
  try {
    raw = await git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  } catch (err) {
    rethrowAbort(err);
    throw new ToolError('git-failed', `git status failed: ${gitMessage(err)}`, 'Run `git status` in a terminal, fix what it reports, then call the tool again.');
  }
  const changes: Change[] = [];
  const parts = raw.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const entry = parts[i]!;
    if (entry.length < 4) continue;
    const status = entry.slice(0, 2);
    const file = entry.slice(3);
    // Renames and copies carry the source path as the next NUL-separated field.
    if (status[0] === 'R' || status[0] === 'C') i++;
    const excluded = exclude.some((dir) => dir && (file === dir || file.startsWith(`${dir}/`)));
    if (!excluded) changes.push({ status, path: file });
  }
  return changes;
}

export async function remotes(git: SimpleGit): Promise<string[]> {
  const out = await tryRaw(git, ['remote']);
  return out ? out.split('\n').map((r) => r.trim()).filter(Boolean) : [];
}

/** `git ls-files -z`: tracked paths relative to the top level. */
export async function trackedFiles(git: SimpleGit): Promise<string[]> {
  try {
    const raw = await git.raw(['ls-files', '-z', '--full-name']);
    return raw.split('\0').filter(Boolean);
  } catch (err) {
    rethrowAbort(err);
    throw new ToolError('git-failed', `git ls-files failed: ${gitMessage(err)}`, 'Run `git ls-files` in a terminal, fix what it reports, then call the tool again.');
  }
}

/** Patches of the commits in `base..HEAD` (what the deployment branch adds), without merges. */
export async function patchSince(git: SimpleGit, base: string): Promise<{ patch: string; commits: number }> {
  const list = await tryRaw(git, ['rev-list', '--no-merges', `${base}..HEAD`]);
  const commits = list ? list.split('\n').filter(Boolean).length : 0;
  if (commits === 0) return { patch: '', commits };
  try {
    const patch = await git.raw(['log', '-p', '--no-merges', '--no-color', '--no-ext-diff', '--no-textconv', '--format=commit %H', '--unified=0', `${base}..HEAD`]);
    return { patch, commits };
  } catch (err) {
    rethrowAbort(err);
    throw new ToolError('git-failed', `git log since ${base.slice(0, 10)} failed: ${gitMessage(err)}`, 'Run `git log -p` in a terminal, fix what it reports, then call check-config again.');
  }
}

export { isAbort as isGitAbort };
