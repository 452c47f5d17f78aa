/** Facts about a task's deployments, read from its recorded outcomes (no AWS calls). */
import type { TaskState } from '../workflow/task-state.js';

/** Per function: the alias the latest successful deploy-lambda moved and the version it left there. */
export function deployedAliases(state: TaskState): Map<string, { alias: string; version: string | null; previousVersion: string | null }> {
  const out = new Map<string, { alias: string; version: string | null; previousVersion: string | null }>();
  for (const o of state.outcomes) {
    if (o.tool !== 'deploy-lambda' || !o.ok) continue;
    const r = (o.output ?? {}) as Record<string, any>;
    if (typeof r.function !== 'string' || typeof r.alias !== 'string') continue;
    const known = out.get(r.function);
    out.set(r.function, {
      alias: r.alias,
      version: typeof r.aliasVersion === 'string' ? r.aliasVersion : null,
      previousVersion: known?.alias === r.alias ? known.previousVersion : typeof r.previousVersion === 'string' ? r.previousVersion : null,
    });
  }
  return out;
}

/** When the task's first successful deployment (deploy-lambda or upload-artifacts) started. */
export function deploymentStart(state: TaskState): Date | null {
  for (const o of state.outcomes) {
    if (!o.ok || (o.tool !== 'deploy-lambda' && o.tool !== 'upload-artifacts')) continue;
    return new Date(new Date(o.ts).getTime() - (typeof o.durationMs === 'number' ? o.durationMs : 0));
  }
  return null;
}
