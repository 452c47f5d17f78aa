import { z } from 'zod';
import { ExpectSchemas } from '../src/config/schema.js';
import { substituteEnvironment } from '../src/config/index.js';
import { formatPath } from '../src/config/messages.js';
import { verifyResource } from '../src/aws/verify/index.js';
import { RESOURCE_TYPES } from '../src/aws/verify/types.js';
import { VerifyResultOutput } from '../src/aws/verify-schemas.js';
import { ToolError, defineTool } from '../src/tool.js';
import { TaskIdInput } from '../src/tool-schemas.js';

export default defineTool({
  name: 'verify-resource',
  title: 'Verify one AWS resource',
  description:
    "Reads one resource through the AWS API and compares it with the expectations (SPEC §5a keys: e.g. versioning, encryption, publicAccessBlock for s3-bucket; runtime, memorySize, role for lambda-function; retentionInDays for log-group; trustedService, noWildcards for iam-role; worldOpenPorts for security-group). Every mismatch is reported as {field, expected, actual}; a missing resource is a discrepancy, not an error; a property that cannot be read is reported for that property while the rest is still verified. `${environment}` in name or expect is replaced by the task's environment.",
  phases: [3, 4, 5],
  aws: true,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: z
    .object({
      taskId: TaskIdInput,
      type: z.enum(RESOURCE_TYPES),
      name: z.string().trim().min(1).max(512).describe('Bucket, function, `function:alias`, log group, role, alarm, or security group name/id'),
      expect: z.record(z.string(), z.unknown()).optional().describe('Expected properties (SPEC §5a); exists defaults to true'),
    })
    .strict(),
  output: VerifyResultOutput,
  summarize: (r) =>
    `${r.type} ${r.name}: ${r.verified ? 'verified' : r.existence === 'absent' ? 'missing' : `${r.discrepancies.length} discrepanc${r.discrepancies.length === 1 ? 'y' : 'ies'}`}${r.problems.length ? `, ${r.problems.length} unreadable propert${r.problems.length === 1 ? 'y' : 'ies'}` : ''}${r.flags.filter((f) => f.severity === 'high').length ? `, ${r.flags.filter((f) => f.severity === 'high').length} high-risk flag(s)` : ''}` +
    r.discrepancies.map((d) => `\n  ${d.field}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)}`).join(''),
  async run(input, ctx) {
    const environment = ctx.task!.environment;
    const name = substituteEnvironment(input.name, environment);
    const expect = substituteEnvironment(input.expect ?? {}, environment);
    const parsed = ExpectSchemas[input.type].safeParse(expect);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `expect${i.path.length ? `.${formatPath(i.path as PropertyKey[])}` : ''}: ${i.message}`);
      throw new ToolError('invalid-expectation', `The expectations for ${input.type} are not valid: ${issues.join('; ')}.`, 'Use the keys of SPEC §5a for this type (deploy-mcp schema lists them).');
    }
    return verifyResource(ctx.aws(), { type: input.type, name, expect: parsed.data as Record<string, unknown> });
  },
});
