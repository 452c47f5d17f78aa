/**
 * The one wrapper every tool call goes through: resolve the task, run the guard, take the task's
 * operation lock, run the tool, record the outcome, redact what goes back. A refused call touches
 * nothing but the audit trail.
 */
import { randomBytes } from 'node:crypto';
import type { CallToolResult, ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { DeploymentService } from './deployment.js';
import { redactText, redactValue } from './journal/redact.js';
import type { Logger } from './log.js';
import { lockOwner } from './state/local-store.js';
import { JournalBrokenError, TaskLockedError, type TaskStore } from './state/task-store.js';
import { ToolError, type AnyToolDefinition } from './tool.js';
import type { ClientInfo, ToolContext } from './tool-context.js';
import { checkMode, checkTask, refusal, type Refusal } from './workflow/guard.js';
import type { TaskState } from './workflow/task-state.js';

/** Extra checks a deployment can plug in before AWS tools run (account pinning). */
export type Preflight = (tool: AnyToolDefinition, state: TaskState, signal: AbortSignal) => Promise<Refusal | null>;

export interface CallEnvironment {
  signal: AbortSignal;
  client: ClientInfo;
  progressToken?: string | number;
  sendProgress?: (params: { progressToken: string | number; progress: number; total?: number; message?: string }) => Promise<void>;
  elicit?: (params: ElicitRequestFormParams, timeoutMs: number) => Promise<ElicitResult>;
  /** The person this session acts for (HTTP: the bearer token's name); recorded in its events. */
  actor?: string;
}

export interface ToolRunnerOptions {
  projectRoot: string;
  deployments: DeploymentService | null;
  store: TaskStore | null;
  /** Set when the config could not be loaded: every tool answers with it. */
  configError: Error | null;
  readOnly: boolean;
  log: Logger;
  registry: readonly AnyToolDefinition[];
  preflight?: Preflight[];
}

export class ToolRunner {
  /** Identifies this server process in lock files. */
  readonly instance = randomBytes(6).toString('hex');

  constructor(private readonly opts: ToolRunnerOptions) {}

  async call(tool: AnyToolDefinition, rawArgs: Record<string, unknown>, env: CallEnvironment): Promise<CallToolResult> {
    const { deployments, store, configError } = this.opts;
    if (configError || !deployments || !store) {
      return errorResult({
        error: 'config-invalid',
        message: configError ? configError.message : 'The server has no usable configuration.',
        nextStep: 'Fix deploy-mcp.config.json (run `npx deploy-mcp schema` for every field), then restart the server.',
      });
    }
    const args = rawArgs ?? {};
    const taskId = typeof args.taskId === 'number' ? args.taskId : undefined;

    // 1. Resolve the task (no AWS, git or process work has happened yet).
    let state: TaskState | null = null;
    if (!tool.taskless || taskId !== undefined) {
      const resolved = await deployments.resolve(taskId);
      if (!resolved.ok) {
        if (!tool.taskless || resolved.reason === 'journal-broken') {
          return this.refuse(tool, args, refusal(tool, resolved.reason, resolved.message, resolved.nextStep, null), null, resolved.taskId, env.actor);
        }
      } else {
        state = resolved.state;
      }
    }

    // 2. The guard.
    const modeRefusal = checkMode(tool, this.opts.readOnly, state);
    if (modeRefusal) return this.refuse(tool, args, modeRefusal, state, null, env.actor);
    if (state && !tool.taskless) {
      const taskRefusal = checkTask(tool, state, deployments.now());
      if (taskRefusal) return this.refuse(tool, args, taskRefusal, state, null, env.actor);
      for (const check of this.opts.preflight ?? []) {
        if (!tool.aws) break;
        const r = await check(tool, state, env.signal);
        if (r) return this.refuse(tool, args, r, state, null, env.actor);
      }
    }

    // 3. One mutating operation per task at a time, across processes.
    let release: (() => Promise<void>) | null = null;
    if (state && !tool.taskless && !tool.annotations.readOnlyHint && !tool.allowWhilePending) {
      try {
        release = await store.acquireLock(state.taskId, { ...lockOwner(tool.name, this.instance) });
      } catch (err) {
        if (err instanceof TaskLockedError) {
          const r = refusal(
            tool,
            'locked',
            err.message,
            'Wait for that operation to finish (deployment-status shows the task), then call again. If its process is gone, the lock is released automatically.',
            { taskId: state.taskId, phase: state.phase },
          );
          return this.refuse(tool, args, r, state, null, env.actor);
        }
        throw err;
      }
    }

    // 4. Run.
    const started = Date.now();
    const phase = state?.phase ?? null;
    const ctx = this.context(tool, state, env);
    try {
      const output = await tool.run(args, ctx);
      const safeOutput = redactValue(output) as Record<string, unknown>;
      if (state && !tool.skipAudit) {
        // Every part is redacted already: append as is rather than walking a large output twice.
        await this.opts.store!.append(state.taskId, {
          type: 'tool.succeeded',
          data: {
            tool: tool.name,
            actor: env.actor,
            phase,
            input: redactValue(args),
            output: safeOutput,
            summary: tool.summarize ? redactText(tool.summarize(output)).slice(0, 600) : undefined,
            durationMs: Date.now() - started,
          },
        });
      }
      // Re-render when something was recorded (read-only verifications change the journal too).
      const taskForJournal = state?.taskId ?? (typeof safeOutput.taskId === 'number' ? safeOutput.taskId : null);
      if (taskForJournal && (!tool.skipAudit || !tool.annotations.readOnlyHint)) deployments.scheduleJournal(taskForJournal);
      return {
        content: [{ type: 'text', text: redactText(tool.summarize ? tool.summarize(output) : JSON.stringify(safeOutput, null, 2)) }],
        structuredContent: safeOutput,
      };
    } catch (err) {
      const problem = describeFailure(tool, err);
      if (state && !tool.skipAudit) {
        await this.record(state.taskId, 'tool.failed', {
          tool: tool.name,
          actor: env.actor,
          phase,
          input: redactValue(args),
          error: problem,
          durationMs: Date.now() - started,
        }).catch((e) => this.opts.log.error(`Could not record the failure of ${tool.name}: ${(e as Error).message}`));
        deployments.scheduleJournal(state.taskId);
      }
      if (err instanceof ToolError || (err as { problem?: unknown })?.problem) this.opts.log.warn(`${tool.name}: ${problem.message}`);
      else this.opts.log.error(`${tool.name} failed: ${(err as Error)?.stack ?? String(err)}`);
      return errorResult(problem);
    } finally {
      if (release) await release().catch(() => undefined);
    }
  }

  private context(tool: AnyToolDefinition, state: TaskState | null, env: CallEnvironment): ToolContext {
    const { deployments, store, log, projectRoot } = this.opts;
    return {
      projectRoot,
      config: deployments!.config,
      store: store!,
      deployments: deployments!,
      task: state,
      registry: this.opts.registry,
      aws: () => {
        if (!state) throw new ToolError('no-task', `${tool.name} needs a task to know which AWS environment to use.`, 'Call start-deployment first.');
        return deployments!.awsFor(state);
      },
      record: async (type, data) => {
        if (!state) throw new Error(`${tool.name} has no task to record to.`);
        // Events a tool records (journal entries, transition requests…) name the session's person.
        return this.record(state.taskId, type, env.actor && data.actor === undefined ? { ...data, actor: env.actor } : data);
      },
      progress: async (done, total, message) => {
        if (env.progressToken === undefined || !env.sendProgress) return;
        await env.sendProgress({ progressToken: env.progressToken, progress: done, total, message: message && redactText(message) }).catch(() => undefined);
      },
      log,
      signal: env.signal,
      client: env.client,
      actor: env.actor,
      elicit: env.elicit,
      now: deployments!.now,
    };
  }

  private async record(taskId: number, type: string, data: Record<string, unknown>) {
    return this.opts.store!.append(taskId, { type, data: redactValue(data) });
  }

  private async refuse(
    tool: AnyToolDefinition,
    args: Record<string, unknown>,
    r: Refusal,
    state: TaskState | null,
    brokenTaskId: number | null = null,
    actor?: string,
  ): Promise<CallToolResult> {
    const audit = {
      tool: tool.name,
      actor,
      reason: r.reason,
      phase: state?.phase ?? null,
      input: redactValue(args),
      message: r.message,
    };
    try {
      // A broken log cannot take an append; refusals that concern no task go to the audit log.
      if (state && r.reason !== 'journal-broken') {
        await this.opts.store!.append(state.taskId, { type: 'tool.refused', data: audit });
        this.opts.deployments!.scheduleJournal(state.taskId);
      } else {
        await this.opts.store!.appendAudit({ type: 'tool.refused', data: { ...audit, taskId: r.taskId ?? brokenTaskId } });
      }
    } catch (err) {
      if (!(err instanceof JournalBrokenError)) this.opts.log.error(`Could not record a refusal of ${tool.name}: ${(err as Error).message}`);
    }
    this.opts.log.info(`refused ${tool.name} (${r.reason}): ${r.message}`);
    const safe = redactValue(r);
    return {
      isError: true,
      content: [{ type: 'text', text: `Refused (${safe.reason}): ${safe.message}\nNext step: ${safe.nextStep}` }],
      structuredContent: safe as unknown as Record<string, unknown>,
    };
  }
}

export interface FailureDescription {
  error: string;
  message: string;
  nextStep?: string;
  details?: Record<string, unknown>;
  [key: string]: unknown;
}

function describeFailure(tool: AnyToolDefinition, err: unknown): FailureDescription {
  if (err instanceof ToolError) {
    return redactValue({ error: err.code, message: err.message, nextStep: err.nextStep, details: err.details });
  }
  const maybeAws = err as { problem?: { code: string; message: string; nextStep: string } };
  if (maybeAws && typeof maybeAws === 'object' && maybeAws.problem?.code) {
    return redactValue({ error: `aws:${maybeAws.problem.code}`, message: maybeAws.problem.message, nextStep: maybeAws.problem.nextStep });
  }
  if ((err as Error)?.name === 'AbortError') {
    return { error: 'cancelled', message: `${tool.name} was cancelled by the client.`, nextStep: 'Call it again when ready.' };
  }
  return redactValue({
    error: 'internal',
    message: `${tool.name} failed unexpectedly: ${(err as Error)?.message ?? String(err)}`,
    nextStep: 'The server log (stderr) has the details; the task state is unchanged except for this failure record.',
  });
}

function errorResult(problem: FailureDescription): CallToolResult {
  const text = `${problem.message}${problem.nextStep ? `\nNext step: ${problem.nextStep}` : ''}`;
  return { isError: true, content: [{ type: 'text', text: redactText(text) }], structuredContent: problem };
}
