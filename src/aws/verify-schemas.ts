/** Output shapes of the verification tools. */
import { z } from 'zod';

export const VerifyResultOutput = z.object({
  type: z.string(),
  name: z.string(),
  exists: z.boolean(),
  existence: z.enum(['present', 'absent', 'unknown']),
  actual: z.record(z.string(), z.unknown()),
  discrepancies: z.array(z.object({ field: z.string(), expected: z.unknown(), actual: z.unknown() })),
  problems: z.array(z.object({ field: z.string(), code: z.string(), message: z.string(), nextStep: z.string().optional() })),
  flags: z.array(z.object({ field: z.string(), severity: z.enum(['high', 'medium', 'low']), message: z.string() })),
  verified: z.boolean(),
});
