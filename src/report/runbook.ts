/**
 * The operations runbook (write-runbook): how to tell the deployment is broken, where to look,
 * how to check it and how to roll it back — with this task's real names and commands. Pure:
 * state, config and a few facts in, Markdown out.
 */
import type { DeployConfig } from '../config/index.js';
import { redactText } from '../journal/redact.js';
import { utc } from '../journal/render.js';
import { dashboardUrl } from '../monitoring/alarms.js';
import type { TaskState } from '../workflow/task-state.js';
import { createdAlarms, dashboard, deploymentStart, gitFacts, latestDeployments, latestOk, releaseTag } from './task-facts.js';
import { fillTemplate, readTemplate, table } from './template.js';

export interface KnownIssue {
  symptom: string;
  cause?: string;
  action: string;
}

export interface RunbookInput {
  state: TaskState;
  config: DeployConfig | null;
  region: string;
  profile?: string;
  /** Issues the agent passed in, as given. */
  issues: (string | KnownIssue)[];
  now: Date;
}

const PRESET_MEANING: Record<string, string> = {
  errors: 'the function returned errors (unhandled exceptions, timeouts, out-of-memory)',
  throttles: 'invocations were throttled: concurrency limit reached, requests are being rejected or retried',
  'duration-p95': 'the slowest 5% of invocations are slower than the threshold: a dependency is slow or the code regressed',
  'log-errors': 'error lines (ERROR, Exception, "Task timed out") appeared in the function logs',
};

export function renderRunbook(input: RunbookInput): { markdown: string; functions: string[]; alarms: string[] } {
  const { state, config, region } = input;
  const aws = (cmd: string) => `aws ${cmd} --region ${region}${input.profile ? ` --profile ${input.profile}` : ''}`;
  const deployments = latestDeployments(state);
  const alarms = createdAlarms(state);
  const board = dashboard(state);
  const git = gitFacts(state);
  const tag = releaseTag(state);
  const plan = latestOk(state, 'record-plan', 1)?.input as Record<string, any> | undefined;
  const groupFor = (fn: string) => alarms.find((a) => a.function === fn && a.metricFilter?.logGroup)?.metricFilter?.logGroup ?? `/aws/lambda/${fn}`;

  const functions = deployments.length
    ? table(
        ['function', 'alias', 'live version', 'previous version', 'log group', 'alarms'],
        deployments.map((d) => [
          `\`${d.function}\``,
          d.alias ?? '–',
          d.newVersion ?? '–',
          d.previousVersion ?? 'none (first deployment)',
          `\`${groupFor(d.function)}\``,
          alarms.filter((a) => a.function === d.function).map((a) => `\`${a.alarmName}\``).join(', ') || 'none',
        ]),
      )
    : '_No function was deployed by this task._';

  const symptoms = alarms.length
    ? alarms
        .map((a) => {
          const m = a.metric ?? {};
          const condition = m.metricName ? `${m.metricName} ${m.statistic} ${m.comparisonOperator === 'GreaterThanThreshold' ? '>' : '≥'} ${m.threshold} over ${m.evaluationPeriods}×${m.period}s` : a.preset;
          return `- **\`${a.alarmName}\`** (${a.function}, ${condition}) in ALARM: ${PRESET_MEANING[a.preset] ?? 'see the alarm description'}. Notifies: ${a.actions.length ? a.actions.map((x) => `\`${x}\``).join(', ') : '**nobody (no actions)**'}.${
            a.test ? ` Last tested ${utc(a.test.ts)}: ${a.test.passed ? 'passed' : 'FAILED'}.` : ' Not tested yet.'
          }`;
        })
        .join('\n') +
      `\n- Check all of them at once:\n\n  \`\`\`sh\n  ${aws(`cloudwatch describe-alarms --alarm-names ${alarms.map((a) => a.alarmName).join(' ')} --query 'MetricAlarms[].[AlarmName,StateValue,StateReason]' --output table`)}\n  \`\`\``
    : '_No alarms were created (create-alarm, phase 6): nothing will tell you it is broken._';

  const dashboardText = board
    ? `Dashboard: [${board.name}](${board.url ?? dashboardUrl(region, board.name)}) — invocations, errors, throttles, duration percentiles and log errors per function, with alarm status.`
    : '_No dashboard was created (create-dashboard, phase 6)._';

  const look: string[] = [];
  for (const d of deployments) {
    const group = groupFor(d.function);
    look.push(
      `- **${d.function}** logs:\n\n  \`\`\`sh\n  ${aws(`logs tail ${group} --since 1h --follow`)}\n  ${aws(`logs filter-log-events --log-group-name ${group} --filter-pattern '?ERROR ?Exception ?"Task timed out"' --start-time $(($(date +%s) - 3600))000`)}\n  \`\`\``,
    );
    look.push(`- **${d.function}** configuration and live version:\n\n  \`\`\`sh\n  ${aws(`lambda get-function-configuration --function-name ${d.function}${d.alias ? `:${d.alias}` : ''}`)}\n  ${d.alias ? aws(`lambda get-alias --function-name ${d.function} --name ${d.alias}`) : aws(`lambda list-versions-by-function --function-name ${d.function}`)}\n  \`\`\``);
  }
  const filters = alarms.filter((a) => a.metricFilter && a.metricFilter.status !== 'skipped');
  for (const f of new Map(filters.map((a) => [a.function, a.metricFilter!])).values()) {
    look.push(`- Error lines per minute in \`${f.logGroup}\` are counted into the metric \`${f.metricNamespace}/${f.metricName}\`.`);
  }
  look.push(`- The deployment journal: \`npx deploy-mcp journal ${state.taskId}\` (every step, result and approval of this deployment).`);

  const health: string[] = [];
  const smoke = latestOk(state, 'smoke-test');
  const targets = Array.isArray(smoke?.input.targets) ? (smoke!.input.targets as Record<string, any>[]) : [];
  for (const t of targets) {
    if (t.kind === 'lambda') {
      health.push(`\`\`\`sh\n${aws(`lambda invoke --function-name ${t.function}${t.qualifier ? ` --qualifier ${t.qualifier}` : ''} --cli-binary-format raw-in-base64-out --payload '${JSON.stringify(t.payload ?? {})}' /dev/stdout`)}\n\`\`\``);
    } else if (t.kind === 'http') {
      health.push(`\`\`\`sh\ncurl -sS -o /dev/null -w '%{http_code} %{time_total}s\\n' -X ${t.method ?? 'GET'} '${t.url}'   # expect ${t.expectStatus ?? 200}\n\`\`\``);
    } else if (t.kind === 's3-object') {
      health.push(`\`\`\`sh\n${aws(`s3api head-object --bucket ${t.bucket} --key ${t.key}`)}\n\`\`\``);
    }
  }
  if (health.length === 0) {
    for (const d of deployments) {
      health.push(`\`\`\`sh\n${aws(`lambda invoke --function-name ${d.function}${d.alias ? ` --qualifier ${d.alias}` : ''} --cli-binary-format raw-in-base64-out --payload '{}' /dev/stdout`)}\n\`\`\``);
    }
  }
  const perf = latestOk(state, 'measure-performance', 5)?.output as Record<string, any> | undefined;
  if (perf) health.push(`Normal at deployment time (${perf.target}, ${perf.requests} requests): p50 ${perf.p50Ms} ms, p95 ${perf.p95Ms} ms, p99 ${perf.p99Ms} ms, error rate ${(Number(perf.errorRate) * 100).toFixed(2)}%.`);

  const rollback: string[] = [];
  rollback.push(
    `1. Preferred: ask the agent to call the \`rollback\` tool on task #${state.taskId} with a reason. It needs your confirmation, restores the previous versions below and records everything in the journal.`,
  );
  const manual = deployments.filter((d) => d.alias);
  if (manual.length) {
    rollback.push(
      `2. By hand (when the agent is unavailable), point each alias back at its previous version:\n\n   \`\`\`sh\n${manual
        .map((d) =>
          d.previousVersion
            ? `   ${aws(`lambda update-alias --function-name ${d.function} --name ${d.alias} --function-version ${d.previousVersion}`)}`
            : `   # ${d.function}: first deployment, there is no previous version — disable its triggers instead`,
        )
        .join('\n')}\n   \`\`\``,
    );
    rollback.push(`3. Confirm: the commands under "How to Check It Works", and the alarms return to OK.`);
  }
  if (plan?.rollbackStrategy) rollback.push(`Strategy agreed in the plan: ${plan.rollbackStrategy}`);
  const rehearsal = latestOk(state, 'test-rollback', 7)?.output as Record<string, any> | undefined;
  if (rehearsal) rollback.push(`Rehearsed in phase 7: ${rehearsal.passed ? 'passed' : 'failed'} in ${rehearsal.durationMs} ms.`);

  const issues: string[] = [];
  for (const issue of input.issues) {
    if (typeof issue === 'string') issues.push(`- ${issue}`);
    else issues.push(`- **${issue.symptom}**${issue.cause ? ` — cause: ${issue.cause}` : ''}. What to do: ${issue.action}`);
  }
  // Failures met while deploying and validating (phases 4-5) are what on-call may meet again.
  for (const o of state.outcomes) {
    if (o.ok || o.phase < 4 || o.phase > 5) continue;
    const resolved = state.outcomes.some((later) => later.seq > o.seq && later.tool === o.tool && later.phase === o.phase && later.ok);
    issues.push(`- Seen during the deployment (phase ${o.phase}, \`${o.tool}\`, ${utc(o.ts)}): ${o.error?.message ?? 'failed'}${resolved ? ' — resolved by a later successful run.' : ' — not resolved by a later run.'}`);
  }

  const contacts = (config?.contacts ?? []).map(
    (c, i) => `${i + 1}. ${c.name}${c.role ? ` (${c.role})` : ''}${[c.email, c.phone, c.slack].filter(Boolean).length ? ` — ${[c.email, c.phone, c.slack].filter(Boolean).join(', ')}` : ''}`,
  );

  const markdown = fillTemplate('runbook.md', readTemplate('runbook.md'), {
    taskId: String(state.taskId),
    title: state.title,
    project: config?.project ?? '–',
    environment: state.environment,
    component: state.component,
    accountId: state.pinned?.account ?? state.target.accountId ?? '?',
    region,
    generatedAt: utc(input.now.toISOString()),
    branch: git.branch,
    releaseTag: tag ? `tag \`${tag.tag}\`` : 'not tagged yet',
    deployedAt: (() => {
      const start = deploymentStart(state);
      return start ? utc(start) : 'not yet';
    })(),
    functions,
    symptoms,
    dashboard: dashboardText,
    whereToLook: look.join('\n'),
    healthCheck: health.join('\n\n') || '_No health check recorded._',
    rollback: rollback.join('\n'),
    knownIssues: issues.length ? issues.join('\n') : '_None recorded._',
    contacts: contacts.length ? contacts.join('\n') : '_No contacts configured (config `contacts`)._',
    integrity: `Evidence: ${state.eventCount} events, head \`${state.head?.hash.slice(0, 16) ?? '-'}\` (seq ${state.head?.seq ?? 0}).`,
  });
  return { markdown: redactText(markdown), functions: deployments.map((d) => d.function), alarms: alarms.map((a) => a.alarmName) };
}
