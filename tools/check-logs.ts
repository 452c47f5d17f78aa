import { z } from 'zod';
import { parseDuration } from '../src/config/index.js';
import { DEFAULT_ERROR_PATTERNS, scanLogs } from '../src/deploy/logs.js';
import { deployedAliases, deploymentStart } from '../src/deploy/task-facts.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'check-logs',
  title: 'Check the logs since the deployment',
  description:
    "Reads CloudWatch Logs events from the start of the deployment (the task's first successful deploy-lambda or upload-artifacts, or `since`: an ISO time or a duration such as \"30m\") until now, and counts those matching error patterns, matched here rather than by CloudWatch filter syntax (default: ERROR, Exception, Task timed out, Traceback, \"level\":\"error\"). logGroup defaults to /aws/lambda/<function> for every function deployed in this task. Returns the count per pattern and up to 5 recent matching lines, redacted. The phase-4 criterion needs a run after the latest deployment with errorCount 0.",
  phases: [4, 5],
  aws: true,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      logGroup: z.string().trim().min(1).max(512).regex(/^[.\-_/#A-Za-z0-9]+$/, 'a log group name').optional().describe('Default: /aws/lambda/<function> of each deployed function'),
      since: z.string().trim().min(2).max(64).optional().describe('ISO time or a duration back from now ("30m", "2h"); default: when the deployment started'),
      patterns: z.array(z.string().min(1).max(200)).min(1).max(50).optional().describe('Substrings that mark an error line (case-sensitive)'),
    })
    .strict(),
  output: z.object({
    errorCount: z.number(),
    samples: z.array(z.object({ logGroup: z.string(), logStream: z.string().optional(), timestamp: z.string(), pattern: z.string(), message: z.string() })),
    windowStart: z.string(),
    windowEnd: z.string(),
    windowSource: z.enum(['deployment', 'since']),
    patterns: z.array(z.string()),
    byPattern: z.record(z.string(), z.number()),
    logGroups: z.array(z.object({ logGroup: z.string(), exists: z.boolean(), scanned: z.number(), matched: z.number(), truncated: z.boolean() })),
    eventsScanned: z.number(),
    truncated: z.boolean(),
  }),
  summarize: (o) =>
    [
      `${o.errorCount} error line(s) in ${o.logGroups.length} log group(s) since ${o.windowStart} (${o.eventsScanned} events read${o.truncated ? ', TRUNCATED' : ''})`,
      ...o.logGroups.filter((g) => !g.exists).map((g) => `  ${g.logGroup}: no such log group (no invocation has logged yet)`),
      ...Object.entries(o.byPattern)
        .filter(([, n]) => n > 0)
        .map(([p, n]) => `  ${JSON.stringify(p)}: ${n}`),
      ...o.samples.map((s) => `  ${s.timestamp} ${s.logGroup}: ${s.message.split('\n')[0].slice(0, 160)}`),
    ].join('\n'),
  async run(input, ctx) {
    const state = ctx.task!;
    const now = ctx.now();
    let windowStart: Date;
    let windowSource: 'deployment' | 'since';
    if (input.since) {
      windowSource = 'since';
      if (/^\d+[smhd]$/.test(input.since)) windowStart = new Date(now.getTime() - parseDuration(input.since));
      else {
        windowStart = new Date(input.since);
        if (Number.isNaN(windowStart.getTime())) throw new ToolError('invalid-since', `since "${input.since}" is neither an ISO time nor a duration like 30m.`, 'Give since as 2026-01-31T10:00:00Z or 30m / 2h / 1d.');
      }
    } else {
      const start = deploymentStart(state);
      if (!start) throw new ToolError('no-deployment', 'Nothing has been deployed in this task yet, so there is no deployment time to read logs from.', 'Deploy first (deploy-lambda / upload-artifacts), or give since.');
      windowStart = start;
      windowSource = 'deployment';
    }
    const logGroups = input.logGroup ? [input.logGroup] : [...deployedAliases(state).keys()].map((fn) => `/aws/lambda/${fn.split(':').at(-1)}`);
    if (logGroups.length === 0) throw new ToolError('no-log-group', 'No function was deployed with deploy-lambda in this task, so there is no default log group.', 'Give logGroup.');
    const patterns = input.patterns ?? [...DEFAULT_ERROR_PATTERNS];
    const scan = await scanLogs(ctx.aws(), { logGroups, startTime: windowStart.getTime(), endTime: now.getTime(), patterns, signal: ctx.signal });
    const missingGiven = input.logGroup ? scan.groups.find((g) => !g.exists) : undefined;
    if (missingGiven) {
      throw new ToolError('log-group-not-found', `The log group ${missingGiven.logGroup} does not exist in ${ctx.aws().target.region}.`, 'Check the name (Lambda functions log to /aws/lambda/<function>), or omit logGroup to read the deployed functions\' groups.');
    }
    return {
      errorCount: scan.errorCount,
      samples: scan.samples,
      windowStart: windowStart.toISOString(),
      windowEnd: now.toISOString(),
      windowSource,
      patterns,
      byPattern: scan.byPattern,
      logGroups: scan.groups,
      eventsScanned: scan.eventsScanned,
      truncated: scan.truncated,
    };
  },
});
