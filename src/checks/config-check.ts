/**
 * The configuration half of `check-config`: the environment's settings, the AWS profile, and the
 * naming convention of configured resources. Pure functions over the config and the text of the
 * AWS shared config files; the tool does the reading.
 *
 * Naming convention (reported as `warning`, it does not block): after `${environment}`
 * substitution, every configured resource name — and every component's function and bucket —
 * contains the environment name or the project name as a delimited part (separated by `-`, `_`,
 * `.`, `/`, `:` or at the start/end, case-insensitive). That is what keeps one environment's
 * resources from colliding with another's, and makes them attributable. A name that contains
 * another configured environment's name but not this one's is reported too: it points the
 * deployment at the wrong environment. Security group ids (`sg-…`) are exempt; for ARNs the
 * resource part is checked, for `function:alias` the function.
 */
import type { DeployConfig } from '../config/index.js';
import { substituteEnvironment } from '../config/index.js';

export type FindingSeverity = 'high' | 'warning' | 'info';
export type FindingKind = 'environment' | 'naming' | 'secret' | 'git' | 'scan';

export interface ConfigFinding {
  severity: FindingSeverity;
  kind: FindingKind;
  file?: string;
  line?: number;
  rule?: string;
  message: string;
  excerpt?: string;
}

/** Profile names defined in an AWS shared config file (`[profile x]`, `[default]`) or credentials file (`[x]`). */
export function profileNames(text: string | null, kind: 'config' | 'credentials'): Set<string> {
  const names = new Set<string>();
  if (!text) return names;
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$/.exec(raw);
    if (!m) continue;
    const section = m[1]!;
    if (kind === 'credentials') names.add(section);
    else if (section === 'default') names.add('default');
    else {
      const p = /^profile\s+(.+)$/.exec(section);
      if (p) names.add(p[1]!.trim());
    }
  }
  return names;
}

export interface ProfileSources {
  configPath: string;
  configText: string | null;
  credentialsPath: string;
  credentialsText: string | null;
}

export interface EnvironmentCheckInput {
  config: DeployConfig | null;
  environment: string;
  profiles: ProfileSources;
  /** The account/region verify-credentials pinned the task to, if any. */
  pinned?: { account: string; region: string };
  /** `AWS_PROFILE` of the server process, if set. */
  envProfile?: string;
}

export function environmentFindings(input: EnvironmentCheckInput): ConfigFinding[] {
  const { config, environment } = input;
  const findings: ConfigFinding[] = [];
  const file = 'deploy-mcp.config.json';
  if (!config) {
    return [{ severity: 'high', kind: 'environment', file, rule: 'config-present', message: 'There is no deploy-mcp.config.json: the environment\'s account and region are unknown. Run `npx deploy-mcp init`, fill in the environment, and restart the server.' }];
  }
  const env = config.environments?.[environment];
  if (!env) {
    return [{
      severity: 'high',
      kind: 'environment',
      file,
      rule: 'environment-present',
      message: `The config has no environment "${environment}" (configured: ${Object.keys(config.environments ?? {}).join(', ') || 'none'}). Add environments.${environment} with its accountId and region.`,
    }];
  }
  if (!env.accountId || !/^[0-9]{12}$/.test(env.accountId)) {
    findings.push({ severity: 'high', kind: 'environment', file, rule: 'account-id', message: `environments.${environment}.accountId is missing or not a 12-digit account id. Set it to the account this environment deploys to.` });
  }
  if (!env.region) {
    findings.push({ severity: 'high', kind: 'environment', file, rule: 'region', message: `environments.${environment}.region is missing. Set it (e.g. "us-east-1").` });
  }
  if (env.profile) {
    const { configPath, configText, credentialsPath, credentialsText } = input.profiles;
    const inConfig = profileNames(configText, 'config').has(env.profile);
    const inCredentials = profileNames(credentialsText, 'credentials').has(env.profile);
    if (!inConfig && !inCredentials) {
      findings.push({
        severity: 'high',
        kind: 'environment',
        file,
        rule: 'profile-resolvable',
        message: `environments.${environment}.profile is "${env.profile}", but no such profile is defined in ${configPath}${configText === null ? ' (missing)' : ''} or ${credentialsPath}${credentialsText === null ? ' (missing)' : ''}. Create it (\`aws configure --profile ${env.profile}\` or \`aws configure sso --profile ${env.profile}\`), or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that define it, then call check-config again.`,
      });
    } else {
      findings.push({ severity: 'info', kind: 'environment', file, rule: 'profile-resolvable', message: `Profile "${env.profile}" is defined in ${inConfig ? configPath : credentialsPath}.` });
    }
  } else {
    findings.push({
      severity: 'info',
      kind: 'environment',
      file,
      rule: 'profile-resolvable',
      message: `No profile is configured for ${environment}: the default credential chain is used (${input.envProfile ? `AWS_PROFILE=${input.envProfile}` : 'environment variables, the default profile, SSO or an instance role'}).`,
    });
  }
  if (input.pinned && env.accountId && (input.pinned.account !== env.accountId || (env.region && input.pinned.region !== env.region))) {
    findings.push({
      severity: 'high',
      kind: 'environment',
      file,
      rule: 'matches-pinned',
      message: `The task is pinned to account ${input.pinned.account} (${input.pinned.region}), but environments.${environment} now says ${env.accountId} (${env.region}). The config changed after verify-credentials: restore it, or abandon this task and start a new one.`,
    });
  }
  return findings;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function containsPart(name: string, part: string): boolean {
  if (!part) return false;
  return new RegExp(`(?:^|[^a-z0-9])${escapeRegExp(part.toLowerCase())}(?:[^a-z0-9]|$)`).test(name.toLowerCase());
}

/** The part of a configured name the convention applies to. */
function conventionalPart(type: string, name: string): string | null {
  if (type === 'security-group' && /^sg-[0-9a-f]+$/i.test(name)) return null;
  let n = name;
  if (n.startsWith('arn:')) n = n.split(':').slice(5).join(':').replace(/^(?:function|role|alarm|log-group|secret):/, '');
  if (type === 'lambda-alias') n = n.slice(0, n.lastIndexOf(':') > 0 ? n.lastIndexOf(':') : n.length);
  return n;
}

export function namingFindings(config: DeployConfig | null, environment: string): ConfigFinding[] {
  if (!config) return [];
  const project = config.project ?? '';
  const others = Object.keys(config.environments ?? {}).filter((e) => e !== environment);
  const named: { type: string; name: string; where: string }[] = [];
  for (const [i, r] of (config.resources ?? []).entries()) {
    named.push({ type: r.type, name: substituteEnvironment(r.name, environment), where: `resources[${i}]` });
  }
  for (const [i, c] of (config.components ?? []).entries()) {
    if (c.function) named.push({ type: 'lambda-function', name: substituteEnvironment(c.function, environment), where: `components[${i}].function` });
    if (c.bucket) named.push({ type: 's3-bucket', name: substituteEnvironment(c.bucket, environment), where: `components[${i}].bucket` });
  }
  const findings: ConfigFinding[] = [];
  const seen = new Set<string>();
  for (const { type, name, where } of named) {
    const key = `${type}\0${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const part = conventionalPart(type, name);
    if (part === null) continue;
    const hasEnv = containsPart(part, environment);
    const other = others.find((e) => containsPart(part, e));
    if (!hasEnv && other) {
      findings.push({
        severity: 'warning',
        kind: 'naming',
        file: 'deploy-mcp.config.json',
        rule: 'other-environment',
        message: `${where}: ${type} "${name}" names environment "${other}", but this task deploys "${environment}". If it is meant per environment, write it with \${environment} (e.g. "${part.replace(new RegExp(escapeRegExp(other), 'i'), '${environment}')}").`,
      });
    } else if (!hasEnv && !containsPart(part, project)) {
      findings.push({
        severity: 'warning',
        kind: 'naming',
        file: 'deploy-mcp.config.json',
        rule: 'naming-convention',
        message: `${where}: ${type} "${name}" contains neither the environment name "${environment}" nor the project name "${project}". Convention: include one of them as a separate part (e.g. "${project}-${part}" or "${part}-\${environment}") so environments cannot collide and resources stay attributable.`,
      });
    }
  }
  return findings;
}
