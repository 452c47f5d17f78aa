import { z } from 'zod';
import { listResources } from '../src/aws/inventory.js';
import { RESOURCE_TYPES } from '../src/aws/verify/types.js';
import { defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

const MAX_RETURNED = 500;

export default defineTool({
  name: 'list-resources',
  title: 'List AWS resources',
  description:
    'Lists what exists in the account: S3 buckets, Lambda functions and aliases, log groups, IAM roles, CloudWatch alarms and security groups, fully paginated, filtered by type, name prefix and tags. A type that cannot be listed (missing permission) is reported in errors while the others still list.',
  phases: [1, 3],
  aws: true,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      types: z.array(z.enum(RESOURCE_TYPES)).optional().describe('Resource types to list (default: all)'),
      prefix: z.string().max(256).optional().describe('Keep names starting with this'),
      tags: z.record(z.string(), z.string()).optional().describe('Keep resources carrying all these tags'),
    })
    .strict(),
  output: z.object({
    resources: z.array(z.object({ type: z.string(), name: z.string(), arn: z.string(), summary: z.string(), id: z.string().optional(), region: z.string().optional() })),
    counts: z.record(z.string(), z.number()),
    total: z.number(),
    truncated: z.boolean(),
    errors: z.array(z.object({ type: z.string(), code: z.string(), message: z.string(), nextStep: z.string().optional() })),
  }),
  summarize: (o) =>
    `${o.total} resources (${Object.entries(o.counts).map(([t, n]) => `${t}: ${n}`).join(', ')})${o.truncated ? `, first ${MAX_RETURNED} returned` : ''}${o.errors.length ? `; could not list: ${o.errors.map((e) => `${e.type} (${e.code})`).join(', ')}` : ''}`,
  async run(input, ctx) {
    const inventory = await listResources(ctx.aws(), { types: input.types, prefix: input.prefix, tags: input.tags });
    return {
      resources: inventory.resources.slice(0, MAX_RETURNED).map(({ type, name, arn, summary, id, region }) => ({ type, name, arn, summary, id, region })),
      counts: inventory.counts,
      total: inventory.resources.length,
      truncated: inventory.resources.length > MAX_RETURNED,
      errors: inventory.errors.map((e) => ({ type: e.type, code: e.code, message: e.message, nextStep: e.nextStep })),
    };
  },
});
