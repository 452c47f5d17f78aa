/**
 * create-branch against real git repositories in temp dirs, with a bare repository as origin.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git, createRepo, type Repo } from './helpers/git-repo.js';
import { forcePhase, readEvents, startHarness, type Harness } from './helpers/mcp.js';

const NOW = new Date('2026-03-14T10:00:00Z');
const BRANCH = 'deploy/staging-2026-03-14-web';

const open: Harness[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function phase2(repo: Repo | string): Promise<{ h: Harness; taskId: number }> {
  const root = typeof repo === 'string' ? repo : repo.root;
  const h = await startHarness({ root, now: () => NOW });
  open.push(h);
  const r = await h.call('start-deployment', { title: 'Web release', environment: 'staging', component: 'web' });
  expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
  const taskId = r.structuredContent.taskId as number;
  await forcePhase(h.srv, taskId, 2);
  return { h, taskId };
}

const branches = (repo: Repo) => repo.git('for-each-ref', 'refs/heads', '--format=%(refname:short)').split('\n').filter(Boolean).sort();

describe('create-branch', () => {
  it('creates deploy/<environment>-<YYYY-MM-DD>-<component> from HEAD and records it in Git References', async () => {
    const repo = createRepo();
    const head = repo.git('rev-parse', 'HEAD');
    const { h, taskId } = await phase2(repo);
    const r = await h.call('create-branch', {});
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ branch: BRANCH, created: true, pushed: false, baseCommit: head, head, fromBranch: 'main' });
    expect(r.structuredContent.remote).toBeUndefined();
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe(BRANCH);
    expect(repo.git('rev-parse', BRANCH)).toBe(head);

    const last = readEvents(h.root, taskId).at(-1);
    expect(last).toMatchObject({ type: 'tool.succeeded', data: { tool: 'create-branch', phase: 2, output: { branch: BRANCH, baseCommit: head } } });
    const journal = fs.readFileSync(await h.srv.deployments!.flushJournal(taskId) as string, 'utf8');
    expect(journal).toContain(`- **Branch**: \`${BRANCH}\``);
    expect(journal).toContain(`- **Base commit**: \`${head}\``);

    const status = await h.call('deployment-status', {});
    const criterion = status.structuredContent.criteria.find((c: { id: string }) => c.id === 'branch-created');
    expect(criterion).toMatchObject({ met: true });
  });

  it('reuses the branch on a second call and keeps the original base after new commits', async () => {
    const repo = createRepo();
    const base = repo.git('rev-parse', 'HEAD');
    const { h } = await phase2(repo);
    expect((await h.call('create-branch', {})).structuredContent.created).toBe(true);
    const again = await h.call('create-branch', {});
    expect(again.structuredContent).toMatchObject({ created: false, baseCommit: base, head: base, fromBranch: BRANCH });
    const next = repo.commit('fix on the branch', { 'src/app.js': 'console.log(1)\n' });
    const third = await h.call('create-branch', {});
    expect(third.structuredContent).toMatchObject({ created: false, baseCommit: base, head: next });
  });

  it('refuses a dirty tree, naming the changes, and creates nothing', async () => {
    const repo = createRepo();
    const { h } = await phase2(repo);
    repo.write('README.md', '# changed\n');
    repo.write('notes/todo.txt', 'untracked\n');
    const r = await h.call('create-branch', {});
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ error: 'dirty-tree' });
    expect(r.structuredContent.message).toContain('2 uncommitted changes');
    expect(r.structuredContent.message).toContain('README.md');
    expect(r.structuredContent.message).toContain('notes/todo.txt');
    expect(r.structuredContent.nextStep).toMatch(/commit|stash/i);
    expect(branches(repo)).toEqual(['main']);
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it("ignores the server's own state directory even when git does not", async () => {
    const repo = createRepo({ ignoreState: false });
    const { h } = await phase2(repo);
    expect(fs.existsSync(path.join(repo.root, '.deploy-mcp'))).toBe(true);
    expect(repo.git('status', '--porcelain')).toContain('.deploy-mcp/');
    const r = await h.call('create-branch', {});
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent.created).toBe(true);
  });

  it('refuses a detached HEAD', async () => {
    const repo = createRepo();
    repo.git('checkout', '-q', '--detach', 'HEAD');
    const { h } = await phase2(repo);
    const r = await h.call('create-branch', {});
    expect(r.structuredContent).toMatchObject({ error: 'detached-head' });
    expect(r.structuredContent.nextStep).toContain('git switch');
    expect(branches(repo)).toEqual(['main']);
  });

  it('refuses a directory that is not a git repository', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-mcp-nogit-'));
    fs.writeFileSync(path.join(root, 'deploy-mcp.config.json'), JSON.stringify({ project: 'demo', environments: { staging: { accountId: '123456789012', region: 'us-east-1' } }, checks: { test: 'node -e 0' } }));
    const { h } = await phase2(root);
    const r = await h.call('create-branch', {});
    expect(r.structuredContent).toMatchObject({ error: 'not-a-repository' });
    expect(r.structuredContent.nextStep).toContain('git init');
  });

  it('refuses an existing branch of that name that points elsewhere, and leaves it alone', async () => {
    const repo = createRepo();
    repo.git('branch', BRANCH);
    const old = repo.git('rev-parse', BRANCH);
    const head = repo.commit('moved on', { 'src/app.js': 'x\n' });
    const { h } = await phase2(repo);
    const r = await h.call('create-branch', {});
    expect(r.structuredContent).toMatchObject({ error: 'branch-exists', details: { existingCommit: old, head, currentBranch: 'main' } });
    expect(r.structuredContent.nextStep).toContain(`git branch -D ${BRANCH}`);
    expect(repo.git('rev-parse', BRANCH)).toBe(old);
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
  });

  it('checks out an existing branch that points at HEAD (created: false)', async () => {
    const repo = createRepo();
    repo.git('branch', BRANCH);
    const { h } = await phase2(repo);
    const r = await h.call('create-branch', {});
    expect(r.structuredContent).toMatchObject({ branch: BRANCH, created: false, fromBranch: 'main' });
    expect(repo.git('symbolic-ref', '--short', 'HEAD')).toBe(BRANCH);
  });

  it('pushes to the bare origin with upstream tracking', async () => {
    const repo = createRepo({ origin: true });
    const head = repo.git('rev-parse', 'HEAD');
    const { h } = await phase2(repo);
    const r = await h.call('create-branch', { push: true });
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ branch: BRANCH, created: true, pushed: true, remote: 'origin', remoteUrl: repo.origin });
    expect(git(repo.origin!, 'rev-parse', `refs/heads/${BRANCH}`)).toBe(head);
    expect(repo.git('rev-parse', '--abbrev-ref', `${BRANCH}@{upstream}`)).toBe(`origin/${BRANCH}`);
  });

  it('says how to add origin when push is asked for without one (the local branch stays)', async () => {
    const repo = createRepo();
    const { h } = await phase2(repo);
    const r = await h.call('create-branch', { push: true });
    expect(r.structuredContent).toMatchObject({ error: 'no-origin' });
    expect(r.structuredContent.nextStep).toContain('git remote add origin');
    expect(branches(repo)).toContain(BRANCH);
    // Calling again without push reuses it.
    expect((await h.call('create-branch', {})).structuredContent).toMatchObject({ created: false, pushed: false });
  });

  it('reports a failed push with what git said', async () => {
    const repo = createRepo();
    repo.git('remote', 'add', 'origin', path.join(os.tmpdir(), 'deploy-mcp-no-such-origin-xyz'));
    const { h } = await phase2(repo);
    const r = await h.call('create-branch', { push: true });
    expect(r.structuredContent).toMatchObject({ error: 'push-failed' });
    expect(r.structuredContent.message).toMatch(/created locally/);
    expect(r.structuredContent.message).toMatch(/does not appear to be a git repository|not found|No such/i);
  });
});
