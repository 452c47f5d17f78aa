/**
 * The release tag (tag-release): an annotated tag on the deployed commit — the head of the
 * deployment branch, or the commit the branch was created from — created once and never moved,
 * pushed to `origin` when asked. A rejected push is reported, not retried or forced.
 */
import os from 'node:os';
import type { SimpleGit } from 'simple-git';
import { gitAt, gitEnvironment, gitMessage, openRepository, withoutCredentials } from '../git/repository.js';
import { redactText } from '../journal/redact.js';
import { ToolError } from '../tool.js';

export interface TagRequest {
  root: string;
  tag: string;
  message: string;
  branch: string;
  baseCommit?: string;
  push: boolean;
  remote?: string;
  /** The deployment's start: a branch head committed after it may not be what was deployed. */
  deployedAt?: string;
  signal?: AbortSignal;
}

/** The repository's git with a tagger identity, for machines where git has none configured. */
function taggerGit(root: string, signal?: AbortSignal): SimpleGit {
  const { env } = gitEnvironment();
  return gitAt(root, { signal }).env({ ...env, GIT_COMMITTER_NAME: 'deploy-mcp', GIT_COMMITTER_EMAIL: `deploy-mcp@${os.hostname()}` });
}

export interface TagResult {
  tag: string;
  commit: string;
  commitSource: 'branch' | 'base-commit';
  created: boolean;
  pushed: boolean;
  remote?: string;
  pushError?: string;
  warnings: string[];
}

async function resolveCommit(g: SimpleGit, ref: string): Promise<string | null> {
  try {
    return (await g.raw(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || null;
  } catch {
    return null;
  }
}

const firstLine = (err: unknown) => redactText(withoutCredentials(gitMessage(err)));

export async function tagRelease(req: TagRequest): Promise<TagResult> {
  const { git: g } = await openRepository(req.root, { signal: req.signal });
  try {
    await g.raw(['check-ref-format', `refs/tags/${req.tag}`]);
  } catch {
    throw new ToolError('invalid-tag', `"${req.tag}" is not a valid git tag name.`, 'Use letters, digits, ., -, _ and / (no spaces, no "..").');
  }

  const warnings: string[] = [];
  let commit = await resolveCommit(g, `refs/heads/${req.branch}`);
  let commitSource: TagResult['commitSource'] = 'branch';
  if (!commit && req.baseCommit) {
    commit = await resolveCommit(g, req.baseCommit);
    commitSource = 'base-commit';
    if (commit) warnings.push(`The deployment branch ${req.branch} does not exist locally; tagged the commit it was created from (${commit.slice(0, 12)}).`);
  }
  if (!commit) {
    throw new ToolError(
      'no-deployed-commit',
      `Neither the deployment branch ${req.branch} nor a recorded base commit${req.baseCommit ? ` (${req.baseCommit})` : ''} exists in ${req.root}.`,
      'Fetch or re-create the deployment branch (create-branch records it in phase 2), then call tag-release again.',
    );
  }
  if (commitSource === 'branch' && req.deployedAt) {
    const committed = Number((await g.raw(['show', '-s', '--format=%ct', commit])).trim()) * 1000;
    if (Number.isFinite(committed) && committed > Date.parse(req.deployedAt) + 60_000) {
      warnings.push(`The head of ${req.branch} (${commit.slice(0, 12)}) was committed after the deployment started: check it is the commit that was deployed.`);
    }
  }

  let created = false;
  const existing = await resolveCommit(g, `refs/tags/${req.tag}`);
  if (existing) {
    if (existing !== commit) {
      throw new ToolError(
        'tag-exists',
        `Tag ${req.tag} already exists on ${existing.slice(0, 12)}, not on the deployed commit ${commit.slice(0, 12)}. A release tag is never moved.`,
        'Ask the human: pass another tag name, or have them remove the stale tag if it was never pushed.',
      );
    }
  } else {
    let email = '';
    try {
      email = (await g.raw(['config', 'user.email'])).trim();
    } catch {
      email = '';
    }
    // Annotated tags need a tagger identity; fall back to one that says who made it.
    const tagger = email ? g : taggerGit(req.root, req.signal);
    try {
      await tagger.raw(['tag', '-a', req.tag, '-m', req.message, commit]);
    } catch (err) {
      throw new ToolError('tag-failed', `git could not create tag ${req.tag}: ${firstLine(err)}`, 'Check the repository state (git status), then call tag-release again.');
    }
    created = true;
  }

  const remote = req.remote ?? 'origin';
  let pushed = false;
  let pushError: string | undefined;
  let remoteUrl: string | undefined;
  if (req.push) {
    const remotes = await g.getRemotes(true);
    const found = remotes.find((r) => r.name === remote);
    if (!found) {
      pushError = `there is no remote named ${remote}`;
    } else {
      remoteUrl = redactText(withoutCredentials(found.refs.push || found.refs.fetch));
      try {
        await g.raw(['push', remote, `refs/tags/${req.tag}:refs/tags/${req.tag}`]);
        pushed = true;
      } catch (err) {
        pushError = firstLine(err);
      }
    }
  }
  return { tag: req.tag, commit, commitSource, created, pushed, ...(remoteUrl ? { remote: remoteUrl } : {}), ...(pushError ? { pushError } : {}), warnings };
}
