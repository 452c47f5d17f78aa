/** Schema pieces shared by tools. */
import { z } from 'zod';

export const TaskIdInput = z
  .number()
  .int()
  .positive()
  .max(999_999_999)
  .optional()
  .describe('Task id; defaults to the only open task');

export const PhaseRefOutput = z.object({
  number: z.number().int(),
  id: z.string(),
  name: z.string(),
});

export const CriterionOutput = z.object({
  id: z.string(),
  text: z.string(),
  met: z.boolean(),
  evidence: z.string(),
});

export const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
export const LOCAL_WRITE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
