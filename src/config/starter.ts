/**
 * The commented starter config `deploy-mcp init` writes. It must load cleanly as written: the
 * placeholders are valid values, and everything optional that would need real ids is commented.
 */

export function starterConfig(project: string): string {
  project = projectName(project);
  const name = JSON.stringify(project);
  return `// deploy-mcp configuration. Comments and trailing commas are allowed.
// Run \`npx deploy-mcp schema\` to see every field with its description.
{
  // For completion in your editor: \`npx deploy-mcp schema > deploy-mcp.schema.json\`, then
  // "$schema": "./deploy-mcp.schema.json",

  // Project name (lowercase letters, digits, hyphens): used in tags, dashboards and reports.
  "project": ${name},

  // Where deployments go. Credentials must resolve to exactly this account and region,
  // or AWS tools are refused. "profile" picks a named AWS profile (default credential chain if omitted).
  "environments": {
    "staging": { "accountId": "111111111111", "region": "us-east-1", "profile": "${project}-staging" },
    "prod": { "accountId": "222222222222", "region": "us-east-1", "profile": "${project}-prod" },
  },

  // Checks run by \`run-checks\`, without a shell (no ;, |, && or $()). When omitted:
  // quality, test and build for this repo's package manager. "integration" runs in phase 5.
  // "checks": {
  //   "quality": "pnpm quality:check",
  //   "test": "pnpm test",
  //   "build": "pnpm build",
  //   "integration": ["pnpm", "test:integration"],
  // },

  // Resources phase 3 verifies by API. \${environment} becomes the environment's name.
  // Every "expect" key is optional; tags and lists match as subsets.
  "resources": [
    {
      "type": "s3-bucket",
      "name": "${project}-\${environment}-artifacts",
      "expect": { "versioning": "Enabled", "encryption": "AES256", "publicAccessBlock": true },
    },
    {
      "type": "lambda-function",
      "name": "${project}-\${environment}-api",
      "expect": { "runtime": "nodejs20.x", "memorySize": 512, "timeout": 30, "environmentVariables": ["TABLE_NAME"] },
    },
    {
      "type": "lambda-alias",
      "name": "${project}-\${environment}-api:live",
      "expect": { "routingWeights": {} },
    },
    {
      "type": "log-group",
      "name": "/aws/lambda/${project}-\${environment}-api",
      "expect": { "retentionInDays": 30 },
    },
    {
      "type": "iam-role",
      "name": "${project}-\${environment}-api-role",
      "expect": { "trustedService": "lambda.amazonaws.com", "noWildcards": true },
    },
    // { "type": "cloudwatch-alarm", "name": "${project}-\${environment}-api-errors", "expect": { "state": "OK" } },
    // { "type": "security-group", "name": "${project}-\${environment}-api", "expect": { "worldOpenPorts": [443] } },
  ],

  // What gets deployed in phase 4, and the Lambda alias / artifact bucket each one uses.
  "components": [
    { "name": "api", "kind": "lambda", "function": "${project}-\${environment}-api", "alias": "live" },
    // { "name": "web", "kind": "s3-artifacts", "bucket": "${project}-\${environment}-artifacts", "prefix": "web/" },
  ],

  // Latency and error thresholds \`measure-performance\` checks in phase 5.
  "performance": { "p95Ms": 800, "maxErrorRate": 0.01 },

  // Monthly budget in USD for \`cost-check\`, and the cost allocation tag that attributes cost to this project.
  // "budgetUsd": 200,
  // "costAllocationTag": "project",

  // Task state, the event log and journals. Commit it, or use the s3 backend to share it across machines.
  "stateDir": ".deploy-mcp",
  "state": { "backend": "local" },
  // "state": { "backend": "s3", "bucket": "my-deploy-state", "prefix": "${project}/" },

  // How long a pending approval request stays valid; it then lapses into "not approved".
  "approval": { "expiresAfter": "24h" },

  // true = refuse every tool that changes anything (inspection only).
  "readOnly": false,

  // Escalation path, rendered into the journal and the runbook.
  "contacts": [
    // { "name": "Platform on-call", "role": "on-call", "email": "oncall@example.com", "slack": "#platform-oncall" },
  ],

  // Where \`notify-stakeholders\` sends messages.
  // "notify": {
  //   "snsTopicArn": "arn:aws:sns:us-east-1:222222222222:deploys",
  //   "webhookUrl": "https://hooks.example.com/deploys",
  // },
}
`;
}

/** A valid project name from a directory or package name: `@acme/Orders API` → `acme-orders-api`. */
export function projectName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 64)
    .replace(/-$/, '');
  return name || 'my-project';
}
