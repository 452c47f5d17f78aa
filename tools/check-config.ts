import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { environmentFindings, namingFindings, type ConfigFinding } from '../src/checks/config-check.js';
import { scanRepository, type RepositoryScan } from '../src/checks/repo-scan.js';
import { GENERIC_MIN_ENTROPY } from '../src/checks/secrets-scan.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

const SEVERITY_ORDER = { high: 0, warning: 1, info: 2 } as const;

export default defineTool({
  name: 'check-config',
  title: 'Check the environment config and scan for secrets',
  description:
    "Checks the task's environment settings (account id, region, the AWS profile resolvable from ~/.aws/config or ~/.aws/credentials, or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE), the naming convention of configured resources (each name contains the environment or the project name; violations are warnings), and scans the git-tracked files plus the commits since the deployment branch's base for secrets: AWS access key ids, secret access keys, session tokens, PEM private keys, and password=/token= style assignments whose value has at least " +
    `${GENERIC_MIN_ENTROPY} bits of entropy per character. Lines carrying "deploy-mcp:allow-secret" and AWS documentation placeholders are ignored. Findings name file, line and rule with a masked excerpt, never the secret. clean is false when any finding is high.`,
  phases: [2],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.object({ taskId: TaskIdInput }).strict(),
  output: z.object({
    findings: z.array(
      z.object({
        severity: z.enum(['high', 'warning', 'info']),
        kind: z.enum(['environment', 'naming', 'secret', 'git', 'scan']),
        file: z.string().optional(),
        line: z.number().optional(),
        rule: z.string().optional(),
        message: z.string(),
        excerpt: z.string().optional().describe('The line with the secret masked'),
      }),
    ),
    clean: z.boolean(),
    counts: z.object({ high: z.number(), warning: z.number(), info: z.number() }),
    scannedFiles: z.number(),
    skippedFiles: z.object({ binary: z.number(), tooLarge: z.number(), unreadable: z.number(), symlinks: z.number() }),
    diff: z.object({ base: z.string(), commits: z.number(), scannedFiles: z.number() }).nullable().describe('The branch history scanned since create-branch\'s base commit'),
  }),
  summarize: (o) =>
    `${o.clean ? 'Clean' : 'Not clean'}: ${o.counts.high} high, ${o.counts.warning} warning(s); ${o.scannedFiles} tracked files scanned${o.diff ? `, plus ${o.diff.commits} commit(s) since ${o.diff.base.slice(0, 10)}` : ''}.` +
    o.findings
      .filter((f) => f.severity !== 'info')
      .slice(0, 10)
      .map((f) => `\n  ${f.severity === 'high' ? '✘' : '!'} ${f.message}`)
      .join(''),
  async run(_input, ctx) {
    const state = ctx.task!;
    const configPath = process.env.AWS_CONFIG_FILE || path.join(os.homedir(), '.aws', 'config');
    const credentialsPath = process.env.AWS_SHARED_CREDENTIALS_FILE || path.join(os.homedir(), '.aws', 'credentials');
    const findings: ConfigFinding[] = [
      ...environmentFindings({
        config: ctx.config,
        environment: state.environment,
        profiles: { configPath, configText: readIfExists(configPath), credentialsPath, credentialsText: readIfExists(credentialsPath) },
        pinned: state.pinned ? { account: state.pinned.account, region: state.pinned.region } : undefined,
        envProfile: process.env.AWS_PROFILE,
      }),
      ...namingFindings(ctx.config, state.environment),
    ];

    const branchOutput = state.outcomes.filter((o) => o.tool === 'create-branch' && o.ok).at(-1)?.output as { baseCommit?: unknown } | undefined;
    const baseCommit = typeof branchOutput?.baseCommit === 'string' ? branchOutput.baseCommit : undefined;
    let scan: RepositoryScan = { findings: [], scannedFiles: 0, skippedFiles: { binary: 0, tooLarge: 0, unreadable: 0, symlinks: 0 }, diff: null };
    try {
      scan = await scanRepository({ root: ctx.projectRoot, baseCommit, signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
      // Without git the tracked files are unknown: the scan did not happen, which is not clean.
      findings.push({ severity: 'high', kind: 'git', rule: err.code, message: `The secrets scan could not run: ${err.message} ${err.nextStep ?? ''}`.trim() });
    }
    if (!baseCommit && !findings.some((f) => f.kind === 'git')) {
      findings.push({ severity: 'info', kind: 'scan', rule: 'diff-base', message: 'No deployment branch recorded yet (create-branch): only the working tree was scanned, not the branch history.' });
    }
    findings.push(...scan.findings);
    findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    const counts = { high: 0, warning: 0, info: 0 };
    for (const f of findings) counts[f.severity]++;
    return {
      findings,
      clean: counts.high === 0,
      counts,
      scannedFiles: scan.scannedFiles,
      skippedFiles: scan.skippedFiles,
      diff: scan.diff,
    };
  },
});
