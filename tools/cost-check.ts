import { z } from 'zod';
import { addDays, costSince, utcDay } from '../src/cost/cost-explorer.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'cost-check',
  title: 'Check the cost since the deployment started',
  description:
    "Asks Cost Explorer (GetCostAndUsage, unblended cost, daily) for the cost from `since` (default: the day the task started) to today, grouped by service and — when the config sets `costAllocationTag` — by that tag's values, and compares the total with `budget` (default: the config's budgetUsd). When Cost Explorer is not enabled, not permitted or unreachable the result is `available: false` with the reason: no figure is ever estimated. Cost Explorer data lags by up to a day, so a zero total right after a deployment means \"not visible yet\".",
  phases: [3, 4, 5, 6, 7, 8],
  aws: true,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      since: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, 'a date such as 2026-03-01 (or an ISO timestamp)')
        .optional()
        .describe('First day counted (UTC); default the day the task started'),
      budget: z.number().positive().optional().describe('Budget in USD to compare with; default the config budgetUsd'),
    })
    .strict(),
  output: z.object({
    available: z.boolean(),
    totalUsd: z.number().optional(),
    byService: z.record(z.string(), z.number()).optional(),
    byTag: z.record(z.string(), z.number()).optional(),
    tagKey: z.string().optional(),
    currency: z.string().optional(),
    estimated: z.boolean().optional(),
    budgetUsd: z.number().optional(),
    overBudget: z.boolean().optional(),
    budgetUsedPercent: z.number().optional(),
    reason: z.string().optional(),
    reasonCode: z.string().optional(),
    period: z.object({ start: z.string(), end: z.string() }),
  }),
  summarize: (o) =>
    o.available
      ? `Cost ${o.period.start} to ${o.period.end}: ${o.totalUsd} ${o.currency}${o.estimated ? ' (estimated)' : ''}${
          o.budgetUsd !== undefined ? ` of a ${o.budgetUsd} USD budget (${o.budgetUsedPercent}%${o.overBudget ? ', OVER BUDGET' : ''})` : ''
        }. Top services: ${Object.entries(o.byService ?? {}).slice(0, 3).map(([s, v]) => `${s} ${v}`).join(', ') || 'none yet'}.`
      : `Cost unavailable: ${o.reason}`,
  async run(input, ctx) {
    const state = ctx.task!;
    const today = utcDay(ctx.now());
    const start = input.since ? utcDay(new Date(input.since.length === 10 ? `${input.since}T00:00:00Z` : input.since)) : state.createdAt.slice(0, 10);
    if (Number.isNaN(Date.parse(start)) || start > today) {
      throw new ToolError('invalid-since', `since ${input.since} is not a date up to today (${today}).`, 'Pass a past date such as the day the task started, or omit since.');
    }
    const period = { start, end: addDays(today, 1) };
    const tagKey = ctx.config?.costAllocationTag;
    const budget = input.budget ?? ctx.config?.budgetUsd;
    const result = await costSince(ctx.aws(), { ...period, tagKey });
    if (!result.available) return { available: false, reason: result.reason, reasonCode: result.code, period, ...(budget !== undefined ? { budgetUsd: budget } : {}) };
    return {
      available: true,
      totalUsd: result.totalUsd,
      byService: result.byService,
      ...(result.byTag ? { byTag: result.byTag, tagKey } : {}),
      currency: result.currency,
      estimated: result.estimated,
      period,
      ...(budget !== undefined
        ? { budgetUsd: budget, overBudget: result.totalUsd > budget, budgetUsedPercent: Math.round((result.totalUsd / budget) * 1000) / 10 }
        : {}),
    };
  },
});
