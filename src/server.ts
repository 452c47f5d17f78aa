/**
 * `createServer()` builds the MCP server: config, task store, the tool wrapper, every tool,
 * prompts and resources. Transports live in their own files and call this.
 */
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ConfigError, loadConfig, resolveStateDir, type DeployConfig } from './config/index.js';
import { DeploymentService } from './deployment.js';
import { Logger, type LogLevel } from './log.js';
import { packageVersion } from './paths.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { openTaskStore } from './state/open-store.js';
import type { TaskStore } from './state/task-store.js';
import { ToolRunner, type Preflight } from './tool-runner.js';
import { accountPinning } from './aws/pinning.js';
import type { AnyToolDefinition } from './tool.js';
import { describePhases } from './workflow/phases.js';
import { ALL_TOOLS } from '../tools/index.js';

export interface ServerOptions {
  projectRoot: string;
  configPath?: string;
  /** Overrides the config's stateDir. */
  stateDir?: string;
  readOnly?: boolean;
  log?: Logger;
  now?: () => Date;
  journalDelayMs?: number;
  tools?: readonly AnyToolDefinition[];
  preflight?: Preflight[];
  /** Use this store instead of the one the config names (tests). */
  store?: TaskStore;
  /** Share an already opened state (the HTTP transport: one per server, not per session). */
  state?: ServerState;
  /** The person every event of this session is recorded under (HTTP: the bearer token's name). */
  actor?: string;
}

export interface DeployServer {
  server: McpServer;
  deployments: DeploymentService | null;
  store: TaskStore | null;
  config: DeployConfig | null;
  configError: Error | null;
  tools: readonly AnyToolDefinition[];
  log: Logger;
  cleanup(): Promise<void>;
}

export const SERVER_INSTRUCTIONS = `deploy-mcp runs an eight-phase AWS deployment: analysis, preparation, infrastructure, application, validation, monitoring, rollback-prep, post-deployment.
Each tool runs only in its phases; a call outside them is refused with a reason and a next step. Only the human can approve a phase transition (request-transition asks them). Start with deployment-status (or start-deployment), and journal what you do with write-journal.`;

/** Config, task store and deployment service: what every session of one server shares. */
export interface ServerState {
  config: DeployConfig | null;
  configError: Error | null;
  store: TaskStore | null;
  deployments: DeploymentService | null;
}

/** Loads the config and opens the store it names (local directory or S3). */
export async function openServerState(opts: ServerOptions): Promise<ServerState> {
  const log = opts.log ?? new Logger();
  const projectRoot = path.resolve(opts.projectRoot);
  let config: DeployConfig | null = null;
  let configError: Error | null = null;
  try {
    config = (await loadConfig({ projectRoot, configPath: opts.configPath }))?.config ?? null;
  } catch (err) {
    configError = err instanceof ConfigError ? err : new Error(`Could not load the config: ${(err as Error).message}`);
    log.error(configError.message);
  }

  let store: TaskStore | null = null;
  let deployments: DeploymentService | null = null;
  if (!configError) {
    const stateDir = opts.stateDir ? path.resolve(projectRoot, opts.stateDir) : resolveStateDir(projectRoot, config);
    try {
      store = opts.store ?? (await openTaskStore(config, stateDir, { warn: (m) => log.warn(m) }));
      deployments = new DeploymentService({ projectRoot, config, store, log, now: opts.now, journalDelayMs: opts.journalDelayMs });
    } catch (err) {
      configError = new Error(`Could not open the task state: ${(err as Error).message}`);
      log.error(configError.message);
    }
  }
  return { config, configError, store, deployments };
}

export async function createServer(opts: ServerOptions): Promise<DeployServer> {
  const log = opts.log ?? new Logger();
  const projectRoot = path.resolve(opts.projectRoot);
  // A server of its own owns its state; sessions of the HTTP transport share one (opts.state).
  const ownsState = !opts.state;
  const { config, configError, store, deployments } = opts.state ?? (await openServerState({ ...opts, log }));

  const readOnly = opts.readOnly === true || config?.readOnly === true;
  const tools = opts.tools ?? ALL_TOOLS;
  const server = new McpServer(
    { name: 'deploy-mcp', title: 'deploy-mcp', version: packageVersion() },
    { capabilities: { logging: {}, tools: {}, prompts: {}, resources: {} }, instructions: SERVER_INSTRUCTIONS },
  );

  const detachLog = log.addSink((level: LogLevel, message: string) => {
    if (!server.isConnected()) return;
    void server.sendLoggingMessage({ level, logger: 'deploy-mcp', data: message }).catch(() => undefined);
  });

  const preflight = opts.preflight ?? [accountPinning(() => deployments)];
  const runner = new ToolRunner({ projectRoot, deployments, store, configError, readOnly, log, registry: tools, preflight });

  for (const tool of tools) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: `${tool.description}\nPhases: ${describePhases(tool.phases)}.`,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (args: Record<string, unknown>, extra) => {
        const caps = server.server.getClientCapabilities();
        const clientVersion = server.server.getClientVersion();
        const elicitation = !!caps?.elicitation;
        return runner.call(tool, args, {
          signal: extra.signal,
          client: { name: clientVersion?.name ?? 'unknown client', version: clientVersion?.version, elicitation },
          actor: opts.actor,
          progressToken: extra._meta?.progressToken,
          sendProgress: async (params) => {
            await extra.sendNotification({ method: 'notifications/progress', params });
          },
          elicit: elicitation
            ? (params, timeoutMs) => server.server.elicitInput(params, { timeout: timeoutMs, signal: extra.signal })
            : undefined,
        });
      },
    );
  }

  advertiseOutcomeShapes(server, tools);
  registerPrompts(server, deployments);
  registerResources(server, deployments, tools);

  return {
    server,
    deployments,
    store,
    config,
    configError,
    tools,
    log,
    async cleanup() {
      detachLog();
      if (ownsState) {
        await deployments?.flushAll();
        await store?.close?.();
      }
      await server.close().catch(() => undefined);
    },
  };
}

/** What a refused call returns in structuredContent (SPEC §2). */
const REFUSAL_JSON_SCHEMA = {
  type: 'object',
  properties: {
    refused: { const: true },
    reason: { enum: ['phase', 'no-task', 'read-only', 'account-mismatch', 'pending-approval', 'journal-broken', 'locked'] },
    tool: { type: 'string' },
    taskId: { type: ['integer', 'null'] },
    currentPhase: { anyOf: [{ type: 'null' }, { type: 'object', properties: { number: { type: 'integer' }, id: { type: 'string' }, name: { type: 'string' } } }] },
    allowedPhases: { type: 'array', items: { type: 'object' } },
    nextStep: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['refused', 'reason', 'tool', 'nextStep'],
};

/** What a failed call returns in structuredContent. */
const ERROR_JSON_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, nextStep: { type: 'string' }, details: { type: 'object' } },
  required: ['error', 'message'],
};

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/**
 * A refused or failed call also carries structuredContent, and clients validate it against the
 * advertised outputSchema even when isError is set. So each tool advertises its result as
 * "its output, or a refusal, or an error" — exactly what it can return.
 */
function advertiseOutcomeShapes(server: McpServer, tools: readonly AnyToolDefinition[]): void {
  // Built once, on the first tools/list: converting 66 schemas costs ~60 ms a time.
  let listed: Tool[] | null = null;
  server.server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (listed ??= tools.map(
      (tool): Tool => ({
        name: tool.name,
        title: tool.title,
        description: `${tool.description}\nPhases: ${describePhases(tool.phases)}.`,
        inputSchema: jsonSchemaOf(tool.input, 'input') as Tool['inputSchema'],
        outputSchema: { type: 'object', anyOf: [jsonSchemaOf(tool.output, 'output'), REFUSAL_JSON_SCHEMA, ERROR_JSON_SCHEMA] } as Tool['outputSchema'],
        annotations: { title: tool.title, ...tool.annotations },
      }),
    )),
  }));
}
