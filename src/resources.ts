/**
 * Resources (SPEC §5): the workflow itself, and each task's journal and event log.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { DeploymentService } from './deployment.js';
import { canonicalJson } from './state/event-log.js';
import { assertTaskId } from './state/task-store.js';
import type { AnyToolDefinition } from './tool.js';
import { allowedPhaseNumbers } from './workflow/guard.js';
import { PHASES } from './workflow/phases.js';

export function workflowMarkdown(tools: readonly AnyToolDefinition[]): string {
  const lines = ['# The deployment workflow', '', 'Eight phases; the server checks each exit criterion from recorded evidence, and only the human approves a transition.', ''];
  for (const phase of PHASES) {
    lines.push(`## Phase ${phase.number} - ${phase.name} (\`${phase.id}\`)`, '', phase.purpose, '', 'Exit criteria:');
    for (const c of phase.criteria) lines.push(`- \`${c.id}\`: ${c.text}`);
    const phaseTools = tools.filter((t) => t.phases !== 'always' && t.phases !== 'any' && allowedPhaseNumbers(t.phases).includes(phase.number));
    lines.push('', `Tools: ${phaseTools.map((t) => `\`${t.name}\``).join(', ') || '(only the tools available in every phase)'}`, '');
  }
  lines.push('## In every phase', '', tools.filter((t) => t.phases === 'always' || t.phases === 'any').map((t) => `\`${t.name}\``).join(', '), '');
  return lines.join('\n');
}

export function registerResources(server: McpServer, deployments: DeploymentService | null, tools: readonly AnyToolDefinition[]): void {
  server.registerResource(
    'workflow',
    'deploy://workflow',
    { title: 'Deployment workflow', description: 'The eight phases, their exit criteria and their tools', mimeType: 'text/markdown' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: workflowMarkdown(tools) }] }),
  );

  const listTasks = (suffix: string, mimeType: string) => async () => ({
    resources: deployments
      ? (await deployments.summaries()).map((t) => ({ uri: `deploy://tasks/${t.taskId}/${suffix}`, name: `Task #${t.taskId} ${suffix}: ${t.title}`, mimeType }))
      : [],
  });

  server.registerResource(
    'task-journal',
    new ResourceTemplate('deploy://tasks/{id}/journal', { list: listTasks('journal', 'text/markdown') }),
    { title: 'Task journal', description: "A task's journal, rendered from its event log", mimeType: 'text/markdown' },
    async (uri, { id }) => {
      if (!deployments) throw new Error('The server has no usable configuration.');
      const taskId = assertTaskId(String(id));
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: await deployments.renderJournal(taskId) }] };
    },
  );

  server.registerResource(
    'task-events',
    new ResourceTemplate('deploy://tasks/{id}/events', { list: listTasks('events', 'application/x-ndjson') }),
    { title: 'Task event log', description: "A task's hash-chained event log (verified before it is served)", mimeType: 'application/x-ndjson' },
    async (uri, { id }) => {
      if (!deployments) throw new Error('The server has no usable configuration.');
      const taskId = assertTaskId(String(id));
      const log = await deployments.store.load(taskId);
      return { contents: [{ uri: uri.href, mimeType: 'application/x-ndjson', text: log.events.map((e) => canonicalJson(e)).join('\n') + '\n' }] };
    },
  );
}
