import { z } from 'zod';
import { effectiveChecks, type EffectiveCheck } from '../src/config/index.js';
import { formatArgv, packageScriptOf, packageScripts, runCheck, type CheckStatus } from '../src/checks/run-check.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export const DEFAULT_TIMEOUT_SECONDS = 600;
/** Lines of each check's tail copied into the journal (the full tail is in the event log). */
const JOURNAL_TAIL_LINES = { failed: 30, passed: 5 } as const;

const CheckResult = z.object({
  name: z.string(),
  command: z.string().describe('The argv as typed (it runs without a shell)'),
  exitCode: z.number().nullable(),
  passed: z.boolean(),
  status: z.enum(['passed', 'failed', 'timed-out', 'cancelled', 'missing', 'not-found']),
  durationMs: z.number(),
  outputTail: z.string().describe('The last lines of stdout + stderr, redacted'),
  outputBytes: z.number().describe('Total bytes the check printed'),
  signal: z.string().nullable().optional(),
  source: z.enum(['config', 'default']),
});
type CheckResult = z.infer<typeof CheckResult>;

const STATUS_MARK: Record<CheckStatus, string> = {
  passed: '✔',
  failed: '✘',
  'timed-out': '⏱',
  cancelled: '⊘',
  missing: '∅',
  'not-found': '?',
};

function describeResult(r: CheckResult): string {
  if (r.status === 'passed') return `${r.name} ✔`;
  if (r.status === 'failed') return `${r.name} ✘ (exit ${r.exitCode ?? r.signal ?? '?'})`;
  return `${r.name} ${STATUS_MARK[r.status]} (${r.status})`;
}

/** Longest run of backticks in `text`, so a fence around it is always longer. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((s) => s.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

export default defineTool({
  name: 'run-checks',
  title: 'Run the configured checks',
  description:
    "Runs the project's checks (config `checks`; by default quality, test and build for the repo's package manager) one after another in the repository root. Each is spawned from its argv WITHOUT a shell (`;`, `|`, `&&`, `$()` are plain arguments; the project's node_modules/.bin is on PATH as in npm scripts), with a per-check timeout that stops its whole process group, cancellation when the request is cancelled, a progress notification per check, and the redacted tail of its output in the result and the journal. Default selection: every check but `integration` in phase 2; only `integration` in phase 5. A default check whose package.json script does not exist is reported as missing (not passed) and not run.",
  phases: [2, 5],
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: z
    .object({
      taskId: TaskIdInput,
      checks: z
        .array(z.string().min(1).max(64))
        .min(1)
        .max(50)
        .optional()
        .describe('Names of checks to run (from the config); default: all but integration in phase 2, integration in phase 5'),
      timeoutSeconds: z.number().int().min(1).max(86_400).optional().describe(`Per-check timeout in seconds (default ${DEFAULT_TIMEOUT_SECONDS})`),
    })
    .strict(),
  output: z.object({
    results: z.array(CheckResult),
    allPassed: z.boolean(),
    phase: z.number(),
    cancelled: z.boolean(),
  }),
  summarize: (o) =>
    `${o.results.filter((r) => r.passed).length}/${o.results.length} checks passed${o.cancelled ? ' (cancelled)' : ''}: ${o.results.map(describeResult).join(', ')}` +
    o.results
      .filter((r) => !r.passed)
      .map((r) => `\n--- ${r.name} (${r.command}) ---\n${r.outputTail.split('\n').slice(-15).join('\n')}`)
      .join(''),
  async run(input, ctx) {
    const state = ctx.task!;
    let configured: Record<string, EffectiveCheck>;
    try {
      configured = effectiveChecks(ctx.projectRoot, ctx.config);
    } catch (err) {
      throw new ToolError('invalid-check', `A configured check cannot be run: ${(err as Error).message}`, 'Fix `checks` in deploy-mcp.config.json (a command string or an argv list), then restart the server.');
    }
    const names = Object.keys(configured);

    let selected: string[];
    if (input.checks) {
      const unknown = input.checks.filter((n) => !(n in configured));
      if (unknown.length) {
        throw new ToolError(
          'unknown-check',
          `No check named ${unknown.map((n) => `"${n}"`).join(', ')} is configured.`,
          `Use one of: ${names.join(', ')} (or add it to \`checks\` in deploy-mcp.config.json).`,
        );
      }
      selected = [...new Set(input.checks)];
    } else if (state.phase === 5) {
      if (!('integration' in configured)) {
        throw new ToolError(
          'no-integration-check',
          'Phase 5 runs the `integration` check, and none is configured.',
          'Add `"integration": "<command>"` to `checks` in deploy-mcp.config.json and restart the server, then call run-checks again.',
        );
      }
      selected = ['integration'];
    } else {
      selected = names.filter((n) => n !== 'integration');
      if (selected.length === 0) {
        throw new ToolError('no-checks', 'No checks are configured for phase 2 (only `integration`, which runs in phase 5).', 'Add the quality, test and build commands to `checks` in deploy-mcp.config.json and restart the server.');
      }
    }

    const timeoutMs = (input.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    const scripts = packageScripts(ctx.projectRoot);
    const results: CheckResult[] = [];
    for (const [i, name] of selected.entries()) {
      if (ctx.signal.aborted) break;
      const check = configured[name]!;
      const command = formatArgv(check.argv);
      await ctx.progress(i, selected.length, `${name} (${i + 1}/${selected.length}): ${command}`);

      const script = check.source === 'default' ? packageScriptOf(check.argv) : null;
      if (script && !(scripts && script in scripts)) {
        results.push({
          name,
          command,
          exitCode: null,
          passed: false,
          status: 'missing',
          durationMs: 0,
          outputTail: `[deploy-mcp] not run: ${scripts ? `package.json has no "${script}" script` : 'there is no package.json'} and \`checks.${name}\` is not configured. Add the script, or set checks.${name} in deploy-mcp.config.json (configuring \`checks\` replaces the defaults).`,
          outputBytes: 0,
          signal: null,
          source: check.source,
        });
        continue;
      }

      const r = await runCheck({ argv: check.argv, cwd: ctx.projectRoot, timeoutMs, signal: ctx.signal });
      results.push({
        name,
        command,
        exitCode: r.exitCode,
        passed: r.status === 'passed',
        status: r.status,
        durationMs: r.durationMs,
        outputTail: r.outputTail,
        outputBytes: r.outputBytes,
        signal: r.signal,
        source: check.source,
      });
    }
    const cancelled = ctx.signal.aborted;
    const allPassed = !cancelled && results.length === selected.length && results.every((r) => r.passed);
    await ctx.progress(selected.length, selected.length, `${results.filter((r) => r.passed).length}/${selected.length} passed`);

    // The tails in the journal's Progress Log: failures in full enough to act on.
    const body = results
      .map((r) => {
        const lines = r.outputTail.split('\n').slice(-(r.passed ? JOURNAL_TAIL_LINES.passed : JOURNAL_TAIL_LINES.failed)).join('\n');
        const fence = fenceFor(lines);
        return `- **${r.name}** \`${r.command}\` — ${r.status}${r.exitCode !== null ? `, exit ${r.exitCode}` : ''}, ${(r.durationMs / 1000).toFixed(1)} s${lines.trim() ? `\n\n${fence}text\n${lines}\n${fence}` : ''}`;
      })
      .join('\n\n');
    if (results.length > 0) {
      await ctx.record('journal.entry', {
        phase: state.phase,
        activity: `Checks: ${results.map(describeResult).join(', ')}${cancelled ? ' — cancelled' : ''}`,
        content: body,
        kind: 'progress',
        author: 'deploy-mcp (run-checks)',
      });
    }
    return { results, allPassed, phase: state.phase, cancelled };
  },
});
