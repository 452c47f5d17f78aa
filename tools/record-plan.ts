import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../src/state/event-log.js';
import { ToolError, defineTool } from '../src/tool.js';
import { LOCAL_WRITE, TaskIdInput } from '../src/tool-schemas.js';

const Name = z.string().trim().min(1).max(120);

export default defineTool({
  name: 'record-plan',
  title: 'Record the deployment plan',
  description:
    "Records the deployment plan in the journal's Deployment Plan section: the components, the order they are deployed in, the infrastructure changes the human will make, the rollback strategy and the expected downtime. Recording it again replaces it; the latest plan is the one phase 4 checks deployments against.",
  phases: [1],
  annotations: LOCAL_WRITE,
  input: z
    .object({
      taskId: TaskIdInput,
      components: z.array(Name).min(1).max(50).describe('Components to deploy (Lambda function names or artifact component names)'),
      order: z.array(Name).min(1).max(50).describe('The deployment order; every component exactly once'),
      infrastructureChanges: z.array(z.string().trim().min(1).max(500)).max(100).describe('Console changes the human will make in phase 3'),
      rollbackStrategy: z.string().trim().min(10).max(4000).describe('How to get back if it goes wrong'),
      expectedDowntime: z.string().trim().min(1).max(200).describe('e.g. "none (alias shift)" or "5 minutes"'),
      greenfield: z.boolean().optional().describe('Nothing exists yet, so phase 2 needs no backup'),
      risks: z.array(z.string().trim().min(1).max(500)).max(50).optional(),
    })
    .strict(),
  output: z.object({ planHash: z.string(), components: z.number(), replacedPlan: z.boolean() }),
  summarize: (o) => `Plan recorded (${o.components} component${o.components === 1 ? '' : 's'}, hash ${o.planHash.slice(0, 12)})${o.replacedPlan ? ', replacing the earlier plan' : ''}.`,
  async run(input, ctx) {
    const components = new Set(input.components);
    if (components.size !== input.components.length) throw new ToolError('invalid-plan', 'components lists a name twice.', 'List each component once.');
    const missing = input.components.filter((c) => !input.order.includes(c));
    const unknown = input.order.filter((c) => !components.has(c));
    if (missing.length || unknown.length || new Set(input.order).size !== input.order.length) {
      throw new ToolError(
        'invalid-plan',
        `order must list every component exactly once${missing.length ? `; missing: ${missing.join(', ')}` : ''}${unknown.length ? `; not a component: ${unknown.join(', ')}` : ''}.`,
        'Fix order so that it is a permutation of components.',
      );
    }
    const { taskId: _taskId, ...plan } = input;
    const replacedPlan = ctx.task!.outcomes.some((o) => o.tool === 'record-plan' && o.ok);
    return { planHash: sha256Hex(canonicalJson(plan)), components: components.size, replacedPlan };
  },
});
