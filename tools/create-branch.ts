import path from 'node:path';
import { z } from 'zod';
import { resolveStateDir } from '../src/config/index.js';
import {
  branchCommit,
  commitExists,
  currentBranch,
  gitMessage,
  headCommit,
  isAncestor,
  isGitAbort,
  openRepository,
  remotes,
  uncommittedChanges,
  withoutCredentials,
} from '../src/git/repository.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

/** Longest a push may stay silent (a slow remote, a large first push). */
const PUSH_TIMEOUT_MS = 300_000;

export default defineTool({
  name: 'create-branch',
  title: 'Create the deployment branch',
  description:
    "Creates and checks out the task's deployment branch, deploy/<environment>-<YYYY-MM-DD>-<component>, from the current HEAD, and records the branch and its base commit in the journal's Git References. Refuses a dirty working tree (the branch must hold exactly what was tested), a detached HEAD, and an existing branch of that name that points elsewhere; an existing branch at HEAD is reused (created: false). With push: true, pushes it to origin and sets the upstream.",
  phases: [2],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      push: z.boolean().optional().describe('Also push the branch to origin with upstream tracking (default false)'),
    })
    .strict(),
  output: z.object({
    branch: z.string(),
    created: z.boolean(),
    pushed: z.boolean(),
    remote: z.string().optional().describe('The remote the branch was pushed to'),
    remoteUrl: z.string().optional().describe('Its URL, without credentials'),
    baseCommit: z.string().describe('The commit the branch was created from'),
    head: z.string().describe('The commit the branch points at now'),
    fromBranch: z.string().describe('The branch that was checked out before'),
  }),
  summarize: (o) =>
    `${o.created ? 'Created' : 'Reusing'} branch ${o.branch} at ${o.head.slice(0, 10)} (base ${o.baseCommit.slice(0, 10)}, from ${o.fromBranch})${o.pushed ? `; pushed to ${o.remote} with upstream` : '; not pushed'}.`,
  async run(input, ctx) {
    const state = ctx.task!;
    const branch = state.branch;
    const { git, top } = await openRepository(ctx.projectRoot, { signal: ctx.signal });

    const head = await headCommit(git);
    const from = await currentBranch(git);
    if (!from) {
      throw new ToolError(
        'detached-head',
        `HEAD is detached at ${head.slice(0, 10)}: a deployment branch must start from a named branch so that what it was cut from is traceable.`,
        'Check out the branch you want to deploy from (e.g. `git switch main`), then call create-branch again.',
      );
    }

    // The server writes its own state (journal, events) under stateDir on every call.
    const stateRel = path.relative(top, resolveStateDir(ctx.projectRoot, ctx.config)).split(path.sep).join('/');
    const exclude = stateRel && !stateRel.startsWith('..') && !path.isAbsolute(stateRel) ? [stateRel] : [];
    const changes = await uncommittedChanges(git, exclude);
    if (changes.length > 0) {
      const shown = changes.slice(0, 10).map((c) => `${c.status.trim() || c.status} ${c.path}`);
      throw new ToolError(
        'dirty-tree',
        `The working tree has ${changes.length} uncommitted change${changes.length === 1 ? '' : 's'} (${shown.join(', ')}${changes.length > 10 ? ', …' : ''}). The deployment branch must contain exactly what was tested.`,
        'Commit the changes (or stash them with `git stash --include-untracked`, or add generated files to .gitignore), then call create-branch again.',
        { changes: changes.slice(0, 50) },
      );
    }

    if ((await git.raw(['check-ref-format', '--branch', branch]).catch(() => null)) === null) {
      throw new ToolError('invalid-branch-name', `"${branch}" is not a valid git branch name.`, 'Start the task again with an environment and component made of letters, digits and dashes.');
    }

    const existing = await branchCommit(git, branch);
    let created = false;
    if (existing && existing !== head) {
      throw new ToolError(
        'branch-exists',
        `Branch ${branch} already exists at ${existing.slice(0, 10)}, but HEAD (${from}) is at ${head.slice(0, 10)}. Reusing it would deploy something other than what is checked out.`,
        `If it is left over from an earlier attempt, either continue on it (\`git switch ${branch}\`) or delete it (\`git branch -D ${branch}\`) to cut it again from ${from}; then call create-branch again.`,
        { existingCommit: existing, head, currentBranch: from },
      );
    }
    try {
      if (!existing) {
        await git.raw(['switch', '-c', branch]);
        created = true;
      } else if (from !== branch) {
        await git.raw(['switch', branch]);
      }
    } catch (err) {
      if (isGitAbort(err)) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
      throw new ToolError('git-failed', `git could not ${existing ? 'check out' : 'create'} ${branch}: ${gitMessage(err)}`, 'Run `git status` in a terminal, fix what it reports, then call create-branch again.');
    }

    // The base stays the commit the branch was first cut from, even when it has moved on since.
    const earlier = state.outcomes.filter((o) => o.tool === 'create-branch' && o.ok).at(-1)?.output as { baseCommit?: unknown; branch?: unknown } | undefined;
    let baseCommit = head;
    if (!created && earlier?.branch === branch && typeof earlier.baseCommit === 'string') {
      if ((await commitExists(git, earlier.baseCommit)) && (await isAncestor(git, earlier.baseCommit, head))) baseCommit = earlier.baseCommit;
    }

    let pushed = false;
    let remote: string | undefined;
    let remoteUrl: string | undefined;
    if (input.push) {
      if (!(await remotes(git)).includes('origin')) {
        throw new ToolError(
          'no-origin',
          `Branch ${branch} was ${created ? 'created' : 'checked out'} locally, but the repository has no remote named origin to push it to.`,
          'Add one (`git remote add origin <url>`) and call create-branch again with push: true, or call it without push to keep the branch local.',
        );
      }
      remote = 'origin';
      remoteUrl = withoutCredentials((await git.raw(['remote', 'get-url', 'origin']).catch(() => '')).trim()) || undefined;
      try {
        const { git: pushGit } = await openRepository(top, { signal: ctx.signal, timeoutMs: PUSH_TIMEOUT_MS });
        await pushGit.raw(['push', '--set-upstream', 'origin', `refs/heads/${branch}:refs/heads/${branch}`]);
        pushed = true;
      } catch (err) {
        if (isGitAbort(err) || (err as Error).name === 'AbortError') throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
        if (err instanceof ToolError) throw err;
        throw new ToolError(
          'push-failed',
          `Branch ${branch} was ${created ? 'created' : 'checked out'} locally, but pushing it to origin${remoteUrl ? ` (${remoteUrl})` : ''} failed: ${withoutCredentials(gitMessage(err))}`,
          'Fix access to origin (credentials, network, branch protection rules), then call create-branch again with push: true; the local branch is reused.',
        );
      }
    }

    return {
      branch,
      created,
      pushed,
      ...(remote ? { remote } : {}),
      ...(remoteUrl ? { remoteUrl } : {}),
      baseCommit,
      head,
      fromBranch: from,
    };
  },
});
