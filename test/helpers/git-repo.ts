/**
 * Real git repositories in temp dirs for the phase-2 tests: a project repo with a commit on
 * `main` and, optionally, a bare repository as its `origin`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE_CONFIG } from './mcp.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Author',
  GIT_COMMITTER_EMAIL: 'author@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface RepoOptions {
  config?: unknown;
  /** Extra files to commit in the first commit (path → content). */
  files?: Record<string, string>;
  /** Create a bare repository and add it as `origin`. */
  origin?: boolean;
  /** Ignore the deploy-mcp state directory (default true). */
  ignoreState?: boolean;
}

export interface Repo {
  root: string;
  origin?: string;
  git: (...args: string[]) => string;
  write(file: string, content: string): void;
  commit(message: string, files?: Record<string, string>): string;
}

export function createRepo(opts: RepoOptions = {}): Repo {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-repo-'));
  const run = (...args: string[]) => git(root, ...args);
  run('init', '-q', '-b', 'main');
  run('config', 'user.name', 'Test Author');
  run('config', 'user.email', 'author@example.com');
  run('config', 'commit.gpgsign', 'false');
  const write = (file: string, content: string) => {
    const abs = path.join(root, file);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  };
  const files: Record<string, string> = {
    'deploy-mcp.config.json': JSON.stringify(opts.config ?? BASE_CONFIG, null, 2),
    'README.md': '# demo\n',
    ...(opts.ignoreState === false ? {} : { '.gitignore': '.deploy-mcp/\n' }),
    ...opts.files,
  };
  for (const [f, c] of Object.entries(files)) write(f, c);
  run('add', '-A');
  run('commit', '-q', '-m', 'initial');
  let origin: string | undefined;
  if (opts.origin) {
    origin = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-origin-'));
    git(origin, 'init', '-q', '--bare', '-b', 'main');
    run('remote', 'add', 'origin', origin);
    run('push', '-q', 'origin', 'main');
  }
  return {
    root,
    origin,
    git: run,
    write,
    commit(message, extra = {}) {
      for (const [f, c] of Object.entries(extra)) write(f, c);
      run('add', '-A');
      run('commit', '-q', '-m', message);
      return run('rev-parse', 'HEAD');
    },
  };
}
