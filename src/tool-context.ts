/** What a tool's `run` receives. Everything a tool touches comes through here. */
import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { DeployConfig } from './config/index.js';
import type { Logger } from './log.js';
import type { StoredEvent } from './state/event-log.js';
import type { AnyToolDefinition } from './tool.js';
import type { AwsClients } from './aws/clients.js';
import type { TaskStore } from './state/task-store.js';
import type { DeploymentService } from './deployment.js';
import type { TaskState } from './workflow/task-state.js';

export interface ClientInfo {
  name: string;
  version?: string;
  elicitation: boolean;
}

export interface ToolContext {
  projectRoot: string;
  config: DeployConfig | null;
  store: TaskStore;
  deployments: DeploymentService;
  /** Every registered tool (for listing what the current phase allows). */
  registry: readonly AnyToolDefinition[];
  /** The task the guard resolved (null only for taskless tools). */
  task: TaskState | null;
  /**
   * AWS clients for the task's environment (region, profile from the config; AWS_ENDPOINT_URL
   * honoured). Created lazily; throws a ToolError when there is no task or environment.
   */
  aws(): AwsClients;
  /** Appends an event to the resolved task's log (durable before it resolves). */
  record(type: string, data: Record<string, unknown>): Promise<StoredEvent>;
  /** MCP progress notification, when the client asked for progress. */
  progress(done: number, total?: number, message?: string): Promise<void>;
  log: Logger;
  /** Aborted when the client cancels the request. */
  signal: AbortSignal;
  client: ClientInfo;
  /** The person the session acts for (HTTP transport: the bearer token's name); unset over stdio. */
  actor?: string;
  /** Form elicitation, when the client supports it. */
  elicit?: (params: ElicitRequestFormParams, timeoutMs: number) => Promise<ElicitResult>;
  now(): Date;
}
