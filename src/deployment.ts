/**
 * The deployment service: tasks as seen by tools, the CLI and the server — resolution, current
 * state, exit criteria, human decisions and the rendered journal — on top of one TaskStore.
 */
import { clientsFor, type AwsClients, type AwsClientsOptions } from './aws/clients.js';
import { ToolError } from './tool.js';
import { effectiveChecks, parseDuration, type DeployConfig } from './config/index.js';
import { renderJournal } from './journal/render.js';
import type { Logger } from './log.js';
import {
  JournalBrokenError,
  TaskNotFoundError,
  type TaskStore,
} from './state/task-store.js';
import { decideRequest, type DecisionOutcome, type HumanDecision } from './workflow/approvals.js';
import { evaluateCriteria, type CriteriaContext, type CriterionResult } from './workflow/criteria.js';
import { phaseRef } from './workflow/phases.js';
import { TaskStateCache, type TaskState, type TransitionRequest } from './workflow/task-state.js';

export const DEFAULT_APPROVAL_EXPIRY_MS = 24 * 60 * 60 * 1000;

export type TaskResolution =
  | { ok: true; state: TaskState }
  | { ok: false; reason: 'no-task' | 'journal-broken'; taskId: number | null; message: string; nextStep: string };

export interface TaskSummary {
  taskId: number;
  title: string;
  environment: string;
  component: string;
  phase: { number: number; id: string; name: string } | null;
  status: string;
}

export interface DeploymentServiceOptions {
  projectRoot: string;
  config: DeployConfig | null;
  store: TaskStore;
  log: Logger;
  now?: () => Date;
  /** Delay before journal.md is re-rendered after an append (coalesces bursts). 0 = at once. */
  journalDelayMs?: number;
}

export class DeploymentService {
  readonly projectRoot: string;
  readonly config: DeployConfig | null;
  readonly store: TaskStore;
  private readonly log: Logger;
  private readonly states = new TaskStateCache();
  private readonly journalTimers = new Map<number, NodeJS.Timeout>();
  private readonly journalDelayMs: number;
  readonly now: () => Date;

  constructor(opts: DeploymentServiceOptions) {
    this.projectRoot = opts.projectRoot;
    this.config = opts.config;
    this.store = opts.store;
    this.log = opts.log;
    this.now = opts.now ?? (() => new Date());
    this.journalDelayMs = opts.journalDelayMs ?? 50;
  }

  get approvalExpiryMs(): number {
    const text = this.config?.approval?.expiresAfter;
    return text ? parseDuration(text) : DEFAULT_APPROVAL_EXPIRY_MS;
  }

  /** The verified, current state of a task. Throws JournalBrokenError / TaskNotFoundError. */
  async state(taskId: number): Promise<TaskState> {
    try {
      const log = await this.store.load(taskId);
      return this.states.get(taskId, log.events);
    } catch (err) {
      if (err instanceof JournalBrokenError) this.states.forget(taskId);
      throw err;
    }
  }

  async summaries(): Promise<(TaskSummary & { broken?: string })[]> {
    const out: (TaskSummary & { broken?: string })[] = [];
    for (const taskId of await this.store.listTaskIds()) {
      try {
        out.push(summarize(await this.state(taskId)));
      } catch (err) {
        if (err instanceof TaskNotFoundError) continue;
        out.push({
          taskId,
          title: '(unreadable)',
          environment: '',
          component: '',
          phase: null,
          status: 'journal-broken',
          broken: (err as Error).message,
        });
      }
    }
    return out;
  }

  /** SPEC §2: the given task, or the only open one; fails closed on a broken log. */
  async resolve(taskId?: number): Promise<TaskResolution> {
    if (taskId !== undefined) {
      try {
        return { ok: true, state: await this.state(taskId) };
      } catch (err) {
        if (err instanceof TaskNotFoundError) {
          return { ok: false, reason: 'no-task', taskId, message: `There is no task ${taskId}.`, nextStep: 'Call list-tasks to see the tasks, or start-deployment to begin one.' };
        }
        if (err instanceof JournalBrokenError) return brokenResolution(err);
        throw err;
      }
    }
    const open: TaskState[] = [];
    for (const id of await this.store.listTaskIds()) {
      try {
        const s = await this.state(id);
        if (s.status === 'active') open.push(s);
      } catch (err) {
        if (err instanceof TaskNotFoundError) continue;
        // Fail closed: a task we cannot read might be the open one.
        if (err instanceof JournalBrokenError) return brokenResolution(err);
        throw err;
      }
    }
    if (open.length === 1) return { ok: true, state: open[0] };
    if (open.length === 0) {
      return { ok: false, reason: 'no-task', taskId: null, message: 'No deployment task is open.', nextStep: 'Call start-deployment with a title, environment and component.' };
    }
    return {
      ok: false,
      reason: 'no-task',
      taskId: null,
      message: `${open.length} tasks are open (${open.map((s) => `#${s.taskId} ${s.environment}/${s.component}`).join(', ')}); say which one.`,
      nextStep: `Call the tool again with taskId set to one of ${open.map((s) => s.taskId).join(', ')}.`,
    };
  }

  criteriaContext(): CriteriaContext {
    const checks = Object.keys(effectiveChecks(this.projectRoot, this.config));
    return {
      preparationChecks: checks.filter((c) => c !== 'integration'),
      integrationConfigured: checks.includes('integration'),
      configuredResources: this.config?.resources?.length ?? 0,
    };
  }

  criteria(state: TaskState, phase: number = state.phase): CriterionResult[] {
    return evaluateCriteria(state, phase, this.criteriaContext());
  }

  /**
   * Applies a human decision under the task's append lock, against the state as it is at that
   * moment (another process may have appended since the request was shown).
   */
  async decide(
    taskId: number,
    requestId: string,
    decision: HumanDecision,
  ): Promise<{ outcome: DecisionOutcome; message: string; request?: TransitionRequest; state: TaskState }> {
    const { result } = await this.store.transact(taskId, (log) => {
      const state = this.states.get(taskId, log.events);
      const verdict = decideRequest(state, requestId, decision, this.criteria(state), this.now());
      return { append: verdict.events, result: verdict };
    });
    const state = await this.state(taskId);
    await this.flushJournal(taskId);
    return { outcome: result.outcome, message: result.message, request: result.request, state };
  }

  /** AWS clients for a task's environment, as configured (the task records its target at start). */
  awsFor(state: TaskState): AwsClients {
    const env = this.config?.environments?.[state.environment];
    const region = env?.region ?? state.target.region;
    if (!region) {
      throw new ToolError(
        'no-environment',
        `Task ${state.taskId}'s environment "${state.environment}" is not in the config any more, so its AWS account and region are unknown.`,
        `Add environments.${state.environment} back to deploy-mcp.config.json and restart the server.`,
      );
    }
    return clientsFor({ region, profile: env?.profile ?? state.target.profile }, this.awsOptions);
  }

  /** Test seam: endpoint / attempts for every AWS client this service creates. */
  awsOptions: AwsClientsOptions = {};

  journalPath(taskId: number): string {
    return this.store.filePath(taskId, 'journal.md');
  }

  async renderJournal(taskId: number): Promise<string> {
    const state = await this.state(taskId);
    return renderJournal(state, {
      criteria: state.status === 'active' ? this.criteria(state) : [],
      contacts: this.config?.contacts ?? [],
      project: this.config?.project,
    });
  }

  /** journal.md is a view of events.jsonl; bursts of appends are coalesced into one render. */
  scheduleJournal(taskId: number): void {
    if (this.journalDelayMs === 0) {
      void this.flushJournal(taskId);
      return;
    }
    if (this.journalTimers.has(taskId)) return;
    const timer = setTimeout(() => {
      this.journalTimers.delete(taskId);
      void this.writeJournal(taskId);
    }, this.journalDelayMs);
    timer.unref?.();
    this.journalTimers.set(taskId, timer);
  }

  async flushJournal(taskId: number): Promise<string | null> {
    const timer = this.journalTimers.get(taskId);
    if (timer) {
      clearTimeout(timer);
      this.journalTimers.delete(taskId);
    }
    return this.writeJournal(taskId);
  }

  async flushAll(): Promise<void> {
    for (const taskId of [...this.journalTimers.keys()]) await this.flushJournal(taskId);
  }

  private async writeJournal(taskId: number): Promise<string | null> {
    try {
      return await this.store.writeFile(taskId, 'journal.md', await this.renderJournal(taskId));
    } catch (err) {
      this.log.warn(`Could not render the journal of task ${taskId}: ${(err as Error).message}`);
      return null;
    }
  }
}

export function summarize(state: TaskState): TaskSummary {
  return {
    taskId: state.taskId,
    title: state.title,
    environment: state.environment,
    component: state.component,
    phase: phaseRef(state.phase),
    status: state.status,
  };
}


function brokenResolution(err: JournalBrokenError): TaskResolution {
  const line = 'line' in err.problem && err.problem.line ? ` (first bad line: ${err.problem.line})` : '';
  return {
    ok: false,
    reason: 'journal-broken',
    taskId: err.taskId,
    message: `The event log of task ${err.taskId} does not verify${line}: ${err.problem.message}. Every task tool is refused until a human resolves it.`,
    nextStep: `Ask the human to run \`npx deploy-mcp verify ${err.taskId}\` to see the damage, then \`npx deploy-mcp verify ${err.taskId} --repair\` to cut the log at the first bad line (the rest is kept aside and the repair is recorded).`,
  };
}
