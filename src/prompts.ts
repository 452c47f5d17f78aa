/**
 * Prompts are Markdown files in `prompts/` with a small front matter block (name, title,
 * description). They are read at run time, so wording changes need no rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { DeploymentService } from './deployment.js';
import { packageRoot } from './paths.js';

export interface PromptFile {
  name: string;
  title: string;
  description: string;
  body: string;
  file: string;
}

export function parsePromptFile(file: string, text: string): PromptFile {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw new Error(`${file}: missing the front matter block (--- name/title/description ---).`);
  const meta: Record<string, string> = {};
  for (const line of match[1].split(/\r?\n/)) {
    const m = /^([A-Za-z]+):\s*(.*)$/.exec(line);
    if (m) meta[m[1]] = m[2].trim();
  }
  for (const key of ['name', 'title', 'description']) {
    if (!meta[key]) throw new Error(`${file}: front matter has no "${key}".`);
  }
  return { name: meta.name, title: meta.title, description: meta.description, body: match[2].trim(), file };
}

export function loadPrompts(dir = path.join(packageRoot(), 'prompts')): PromptFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .sort()
    .map((f) => parsePromptFile(f, fs.readFileSync(path.join(dir, f), 'utf8')));
}

export function fillPlaceholders(body: string, values: { taskId?: number | string; environment?: string; component?: string }): string {
  return body
    .replace(/\{\{taskId\}\}/g, values.taskId !== undefined ? String(values.taskId) : '<taskId>')
    .replace(/\{\{environment\}\}/g, values.environment ?? '<environment>')
    .replace(/\{\{component\}\}/g, values.component ?? '<component>');
}

export function registerPrompts(server: McpServer, deployments: DeploymentService | null): void {
  for (const prompt of loadPrompts()) {
    server.registerPrompt(
      prompt.name,
      {
        title: prompt.title,
        description: prompt.description,
        argsSchema: { taskId: z.string().regex(/^\d+$/).optional().describe('Task id; defaults to the only open task') },
      },
      async ({ taskId }) => {
        let values: { taskId?: number; environment?: string; component?: string } = {};
        if (deployments) {
          const resolved = await deployments.resolve(taskId ? Number(taskId) : undefined).catch(() => null);
          if (resolved?.ok) values = { taskId: resolved.state.taskId, environment: resolved.state.environment, component: resolved.state.component };
        }
        return {
          description: prompt.description,
          messages: [{ role: 'user' as const, content: { type: 'text' as const, text: fillPlaceholders(prompt.body, values) } }],
        };
      },
    );
  }
}
