/**
 * The schema of `deploy-mcp.config.json` (SPEC §6) and of resource expectations (SPEC §5a).
 *
 * Every object is strict so that a misspelt field is reported instead of silently ignored, and
 * every field carries a description: `deploy-mcp schema` prints them as JSON Schema, and editors
 * show them as hover text through `$schema`.
 */
import { z } from 'zod';
import { CommandSyntaxError, splitCommand } from './command.js';

/** Strings such as `90s`, `30m`, `24h`, `7d`. Parsed by `parseDuration` in `load.ts`. */
export const DURATION_PATTERN = /^([1-9][0-9]*)(s|m|h|d)$/;

const NAME_PATTERN = /^[a-z0-9-]+$/;
const ENVIRONMENT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const ACCOUNT_ID_PATTERN = /^[0-9]{12}$/;
// us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-iso-east-1, us-isob-east-1, …
const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$/;
const SNS_TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * A strict object whose "unknown field" error lists the fields that are allowed, and suggests the
 * closest one when the unknown field looks like a typo.
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownFieldMessage(issue.keys, allowed) : undefined),
  });
}

export function unknownFieldMessage(keys: readonly string[], allowed: readonly string[]): string {
  const quoted = keys.map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)).join(', ');
  const noun = keys.length === 1 ? 'field' : 'fields';
  const suggestion = keys.length === 1 ? closest(keys[0], allowed) : undefined;
  const hint = suggestion ? `did you mean "${suggestion}"? ` : '';
  return `unknown ${noun} ${quoted} (${hint}allowed: ${allowed.join(', ')})`;
}

/** The allowed name closest to a typo, if it is close enough to be the likely intent. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const nonEmpty = () => z.string().min(1, { error: 'must not be empty' });
const stringList = () => z.array(nonEmpty());
const tags = () =>
  z
    .record(z.string().min(1, { error: 'tag keys must not be empty' }), z.string())
    .describe('Tags that must be present with these values (other tags may exist too).');

const accountId = z
  .string({ error: 'must be a 12-digit AWS account id, written in quotes so leading zeros survive' })
  .regex(ACCOUNT_ID_PATTERN, { error: 'must be a 12-digit AWS account id' })
  .describe('The 12-digit AWS account id this environment deploys to. Credentials must resolve to it.');

const region = z
  .string()
  .regex(REGION_PATTERN, { error: 'must be an AWS region such as us-east-1 or eu-west-2' })
  .describe('AWS region, e.g. us-east-1.');

const durationString = z
  .string()
  .regex(DURATION_PATTERN, { error: 'must be a duration such as "90s", "30m", "24h" or "7d"' });

const exists = z
  .boolean()
  .describe('Whether the resource must exist (default true). `false` asserts that it is absent.');

// ---------------------------------------------------------------------------------------------
// Resource expectations (SPEC §5a). Every key is optional; tags and lists match as subsets.

export const S3BucketExpectSchema = strictObject({
  exists: exists.optional(),
  region: region.optional(),
  versioning: z.enum(['Enabled', 'Suspended', 'Disabled']).optional().describe('Bucket versioning status.'),
  encryption: z
    .enum(['AES256', 'aws:kms', 'aws:kms:dsse'])
    .optional()
    .describe('Default server-side encryption algorithm.'),
  kmsKeyId: nonEmpty().nullable().optional().describe('KMS key id or ARN used for default encryption; null asserts none.'),
  publicAccessBlock: z.boolean().optional().describe('true = all four public access block settings are on.'),
  lifecycleRules: z.int().min(0).optional().describe('Minimum number of lifecycle rules.'),
  replication: z.boolean().optional().describe('Whether a replication configuration exists.'),
  tags: tags().optional(),
});

export const LambdaFunctionExpectSchema = strictObject({
  exists: exists.optional(),
  state: z.enum(['Pending', 'Active', 'Inactive', 'Failed']).optional().describe('Function state.'),
  lastUpdateStatus: z
    .enum(['Successful', 'Failed', 'InProgress'])
    .optional()
    .describe('Status of the last code or configuration update.'),
  runtime: nonEmpty().optional().describe('Runtime identifier, e.g. nodejs20.x.'),
  handler: nonEmpty().optional().describe('Handler, e.g. index.handler.'),
  memorySize: z.int().min(128).max(10240).optional().describe('Memory in MB (128–10240).'),
  timeout: z.int().min(1).max(900).optional().describe('Timeout in seconds (1–900).'),
  role: nonEmpty().optional().describe('Execution role ARN or role name.'),
  architectures: z.array(z.enum(['x86_64', 'arm64'])).optional().describe('Instruction set architectures.'),
  environmentVariables: stringList()
    .optional()
    .describe('Names of environment variables that must be set (values are never compared or shown).'),
  tags: tags().optional(),
  vpcSubnetIds: stringList().optional().describe('Subnet ids the function must be attached to.'),
  vpcSecurityGroupIds: stringList().optional().describe('Security group ids the function must use.'),
});

export const LambdaAliasExpectSchema = strictObject({
  exists: exists.optional(),
  functionVersion: z
    .string()
    .regex(/^(\$LATEST|[0-9]+)$/, { error: 'must be a published version number such as "7", or "$LATEST"' })
    .optional()
    .describe('The version the alias points to.'),
  routingWeights: z
    .record(
      z.string().regex(/^[0-9]+$/, { error: 'routing weight keys must be version numbers' }),
      z.number().min(0).max(1),
    )
    .optional()
    .describe('Additional version weights, e.g. {"8": 0.1}; {} asserts no weighted routing.'),
});

export const LogGroupExpectSchema = strictObject({
  exists: exists.optional(),
  retentionInDays: z
    .number()
    .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
      error: `must be a retention period CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .nullable()
    .optional()
    .describe('Retention period in days; null asserts "never expire".'),
  kmsKeyId: nonEmpty().nullable().optional().describe('KMS key ARN the log group is encrypted with; null asserts no KMS key.'),
});

export const IamRoleExpectSchema = strictObject({
  exists: exists.optional(),
  trustedService: nonEmpty().optional().describe('Service principal allowed to assume the role, e.g. lambda.amazonaws.com.'),
  attachedPolicies: stringList().optional().describe('Managed policies (names or ARNs) that must be attached.'),
  noWildcards: z.boolean().optional().describe('true = no policy statement allows "*" actions or resources.'),
});

export const CloudWatchAlarmExpectSchema = strictObject({
  exists: exists.optional(),
  namespace: nonEmpty().optional().describe('Metric namespace, e.g. AWS/Lambda.'),
  metricName: nonEmpty().optional().describe('Metric name, e.g. Errors.'),
  statistic: nonEmpty().optional().describe('Statistic (Sum, Average, Maximum, …) or extended statistic (p95).'),
  threshold: z.number().optional().describe('Alarm threshold.'),
  comparisonOperator: z
    .enum([
      'GreaterThanOrEqualToThreshold',
      'GreaterThanThreshold',
      'LessThanThreshold',
      'LessThanOrEqualToThreshold',
      'LessThanLowerOrGreaterThanUpperThreshold',
      'LessThanLowerThreshold',
      'GreaterThanUpperThreshold',
    ])
    .optional()
    .describe('Comparison operator.'),
  alarmActions: stringList().optional().describe('Action ARNs that must be configured (subset match).'),
  state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']).optional().describe('Current alarm state.'),
});

export const SecurityGroupExpectSchema = strictObject({
  exists: exists.optional(),
  vpcId: nonEmpty().optional().describe('VPC the group belongs to.'),
  worldOpenPorts: z
    .array(z.int().min(0).max(65535))
    .optional()
    .describe('The exact list of ports open to 0.0.0.0/0 or ::/0 ([] = none).'),
});

/** The expectation schema of each resource type; `verify-resource` validates its `expect` with these. */
export const ExpectSchemas = {
  's3-bucket': S3BucketExpectSchema,
  'lambda-function': LambdaFunctionExpectSchema,
  'lambda-alias': LambdaAliasExpectSchema,
  'log-group': LogGroupExpectSchema,
  'iam-role': IamRoleExpectSchema,
  'cloudwatch-alarm': CloudWatchAlarmExpectSchema,
  'security-group': SecurityGroupExpectSchema,
} as const;

export type ResourceType = keyof typeof ExpectSchemas;
export const RESOURCE_TYPES = Object.keys(ExpectSchemas) as ResourceType[];

const NAME_DESCRIPTIONS: Record<ResourceType, string> = {
  's3-bucket': 'Bucket name. `${environment}` is replaced with the environment name.',
  'lambda-function': 'Function name. `${environment}` is replaced with the environment name.',
  'lambda-alias': 'Alias as `function:alias`, e.g. orders-${environment}:live.',
  'log-group': 'Log group name, e.g. /aws/lambda/orders-${environment}.',
  'iam-role': 'Role name. `${environment}` is replaced with the environment name.',
  'cloudwatch-alarm': 'Alarm name. `${environment}` is replaced with the environment name.',
  'security-group': 'Security group name or id (sg-…).',
};

function resourceSchema<T extends ResourceType>(type: T) {
  const name =
    type === 'lambda-alias'
      ? z.string().regex(/^[^:\s]+:[^:\s]+$/, { error: 'must be written as "function:alias", e.g. "orders-api:live"' })
      : nonEmpty();
  return strictObject({
    type: z.literal(type).describe('Resource type.'),
    name: name.describe(NAME_DESCRIPTIONS[type]),
    expect: ExpectSchemas[type].optional().describe(`What must be true of the ${type} (see SPEC §5a).`),
  });
}

export const ResourceSchema = z
  .discriminatedUnion('type', [
    resourceSchema('s3-bucket'),
    resourceSchema('lambda-function'),
    resourceSchema('lambda-alias'),
    resourceSchema('log-group'),
    resourceSchema('iam-role'),
    resourceSchema('cloudwatch-alarm'),
    resourceSchema('security-group'),
  ])
  .describe('A resource that phase 3 verifies by API.');

// ---------------------------------------------------------------------------------------------
// The config file

const EnvironmentSchema = strictObject({
  accountId,
  region,
  profile: nonEmpty().optional().describe('Named AWS profile to use; the default credential chain when omitted.'),
}).describe('An AWS account and region to deploy to.');

const CheckCommandSchema = z
  .union([
    z.string().describe('A command line, split into arguments without a shell.'),
    z.array(z.string()).describe('The argv to run, e.g. ["pnpm", "test"].'),
  ], { error: 'must be a command string such as "pnpm test" or an argv list such as ["pnpm", "test"]' })
  .superRefine((command, ctx) => {
    if (Array.isArray(command)) {
      if (command.length === 0 || command[0] === '') {
        ctx.addIssue({ code: 'custom', message: 'must list at least the program to run', input: command });
      }
      return;
    }
    try {
      splitCommand(command);
    } catch (error) {
      const reason = error instanceof CommandSyntaxError ? error.reason : (error as Error).message;
      ctx.addIssue({ code: 'custom', message: reason, input: command });
    }
  })
  .describe('A check command. Runs without a shell: ;, |, && and $() are not interpreted.');

const ComponentSchema = strictObject({
  name: z.string().regex(NAME_PATTERN, { error: 'must use only lowercase letters, digits and hyphens' }).describe('Component name, used in branch names (deploy/<environment>-<date>-<component>).'),
  kind: z.enum(['lambda', 's3-artifacts']).describe('What kind of thing is deployed.'),
  function: nonEmpty().optional().describe('Lambda function name (kind "lambda"). `${environment}` is substituted.'),
  alias: nonEmpty().optional().describe('Lambda alias to move to the new version (kind "lambda").'),
  bucket: nonEmpty().optional().describe('Artifact bucket (kind "s3-artifacts"). `${environment}` is substituted.'),
  prefix: z.string().optional().describe('Key prefix inside the bucket (kind "s3-artifacts").'),
}).describe('A deployable unit.');

const PerformanceSchema = strictObject({
  p50Ms: z.number().positive().optional().describe('Maximum acceptable median latency in milliseconds.'),
  p95Ms: z.number().positive().optional().describe('Maximum acceptable 95th percentile latency in milliseconds.'),
  p99Ms: z.number().positive().optional().describe('Maximum acceptable 99th percentile latency in milliseconds.'),
  maxErrorRate: z.number().min(0).max(1).optional().describe('Maximum acceptable error rate, 0–1 (0.01 = 1%).'),
}).describe('Thresholds `measure-performance` checks in phase 5.');

const StateSchema = strictObject({
  backend: z.enum(['local', 's3']).default('local').describe('Where task state lives: "local" (stateDir) or "s3".'),
  bucket: nonEmpty().optional().describe('State bucket (required for the s3 backend).'),
  prefix: z.string().optional().describe('Key prefix inside the state bucket.'),
})
  .superRefine((state, ctx) => {
    if (state.backend === 's3' && !state.bucket) {
      ctx.addIssue({ code: 'custom', path: ['bucket'], message: 'is required when backend is "s3"', input: undefined });
    }
  })
  .describe('Where task state and its lock are kept.');

const ApprovalSchema = strictObject({
  expiresAfter: durationString
    .default('24h')
    .describe('How long a pending approval request stays valid before it lapses into "not approved".'),
}).describe('Human approval settings.');

const ContactSchema = strictObject({
  name: nonEmpty().describe('Person or team.'),
  role: z.string().optional().describe('Role in the escalation path, e.g. "on-call", "service owner".'),
  email: z.email({ error: 'must be an email address' }).optional(),
  phone: z.string().optional(),
  slack: z.string().optional().describe('Slack handle or channel.'),
}).describe('A person in the escalation path, rendered into the journal and runbook.');

function isAllowedWebhookUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

const NotifySchema = strictObject({
  snsTopicArn: z
    .string()
    .regex(SNS_TOPIC_ARN_PATTERN, { error: 'must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:deploys' })
    .optional()
    .describe('SNS topic `notify-stakeholders` publishes to.'),
  webhookUrl: z
    .string()
    .refine(isAllowedWebhookUrl, { error: 'must be an https:// URL (plain http:// only for localhost)' })
    .optional()
    .describe('Webhook `notify-stakeholders` posts JSON to (https, or http://localhost).'),
}).describe('Where stakeholder notifications go.');

const HttpTokenSchema = strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9._@-]{1,64}$/, { error: 'must be 1–64 letters, digits, ".", "_", "@" or "-" (it names the person in the journal)' })
    .describe('The person this token belongs to; recorded as the actor of every event of their sessions.'),
  token: z
    .string()
    .min(32, { error: 'must be at least 32 characters (e.g. `openssl rand -hex 32`)' })
    .describe('The bearer token. Prefer DEPLOY_MCP_TOKENS (name:token,…) to keep tokens out of the repository.'),
}).describe('A bearer token for the HTTP transport.');

const HttpSchema = strictObject({
  tokens: z.array(HttpTokenSchema).optional().describe('Bearer tokens accepted by `serve --http`, each naming a person. Added to DEPLOY_MCP_TOKENS.'),
  allowedOrigins: z
    .array(z.string().regex(/^https?:\/\/[^/\s]+$/, { error: 'must be an origin such as https://deploy.example.com (scheme, host, optional port; no path)' }))
    .optional()
    .describe('Origin headers accepted besides the server\'s own address (browser clients). Others are refused (DNS rebinding).'),
  allowedHosts: z
    .array(z.string().regex(/^[^/\s]+$/, { error: 'must be a host[:port] such as deploy.internal:8787' }))
    .optional()
    .describe('Host headers accepted besides the bound address and localhost (a name the server is reached by). Others are refused.'),
}).describe('The Streamable HTTP transport (`deploy-mcp serve --http`).');

export const ConfigSchema = strictObject({
  $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editor completion. Ignored.'),
  project: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(64, { error: 'must be at most 64 characters' })
    .regex(NAME_PATTERN, { error: 'must use only lowercase letters, digits and hyphens' })
    .describe('Project name, used in tags, dashboards and reports.'),
  environments: z
    .record(
      z.string().regex(ENVIRONMENT_NAME_PATTERN, {
        error: 'environment names must use only lowercase letters, digits and hyphens',
      }),
      EnvironmentSchema,
    )
    .refine((envs) => Object.keys(envs).length > 0, {
      error: 'must define at least one environment, e.g. "staging": {"accountId": "…", "region": "…"}',
    })
    .describe('Deployment targets by name (e.g. staging, prod).'),
  checks: z
    .record(
      z.string().regex(NAME_PATTERN, { error: 'check names must use only lowercase letters, digits and hyphens' }),
      CheckCommandSchema,
    )
    .refine((checks) => Object.keys(checks).length > 0, {
      error: 'must define at least one check (omit the field to use the defaults: quality, test, build)',
    })
    .optional()
    .describe(
      'Commands run by `run-checks`, by name. When omitted: quality, test and build for the repo\'s package manager. ' +
        'A check named "integration" runs in phase 5.',
    ),
  resources: z.array(ResourceSchema).optional().describe('Resources verified in phase 3. `${environment}` is substituted in every string.'),
  components: z.array(ComponentSchema).optional().describe('Deployable units (Lambda functions, artifact uploads).'),
  performance: PerformanceSchema.optional(),
  budgetUsd: z.number().positive().optional().describe('Monthly budget in USD that `cost-check` compares against.'),
  costAllocationTag: nonEmpty().optional().describe('Cost allocation tag key used to attribute cost to this project.'),
  stateDir: nonEmpty().default('.deploy-mcp').describe('Directory for task state, relative to the project root.'),
  state: StateSchema.default({ backend: 'local' }),
  approval: ApprovalSchema.default({ expiresAfter: '24h' }),
  readOnly: z.boolean().default(false).describe('true = refuse every tool that changes anything.'),
  contacts: z.array(ContactSchema).optional().describe('Escalation path, rendered into the journal.'),
  notify: NotifySchema.optional(),
  http: HttpSchema.optional(),
}).describe('deploy-mcp configuration (deploy-mcp.config.json).');

export type DeployConfig = z.output<typeof ConfigSchema>;
export type DeployConfigInput = z.input<typeof ConfigSchema>;
export type ResourceConfig = z.output<typeof ResourceSchema>;
export type ComponentConfig = z.output<typeof ComponentSchema>;
export type EnvironmentConfig = z.output<typeof EnvironmentSchema>;
export type ResourceExpect<T extends ResourceType = ResourceType> = z.output<(typeof ExpectSchemas)[T]>;
