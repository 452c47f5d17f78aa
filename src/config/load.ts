/**
 * Loading `deploy-mcp.config.json`: read, strip JSONC, validate, and explain every problem with
 * the field it is in. Also the small rules derived from the config: durations, `${environment}`
 * substitution, the state directory, the package manager and the checks to run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigSchema, DURATION_PATTERN, type DeployConfig } from './schema.js';
import { JsonSyntaxError, parseJsonc, pathKey } from './jsonc.js';
import { configErrorMap, formatPath, toConfigIssues, type ConfigIssue } from './messages.js';
import { splitCommand } from './command.js';

export { splitCommand } from './command.js';
export type { ConfigIssue } from './messages.js';

export const CONFIG_FILE_NAME = 'deploy-mcp.config.json';
export const DEFAULT_STATE_DIR = '.deploy-mcp';

const FIX_HINT = 'Fix the file, or run `deploy-mcp schema` to see every field.';

/** The config is missing, unreadable or invalid. The message lists every problem, one a line. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  /** Absolute path of the file, or null when the config did not come from a file. */
  readonly file: string | null;

  constructor(issues: ConfigIssue[], file: string | null, options: { label?: string; hint?: string } = {}) {
    const label = options.label ?? (file ? path.basename(file) : CONFIG_FILE_NAME);
    const lines = issues.map((issue) => `${label}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
    lines.push(options.hint ?? FIX_HINT);
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
    this.file = file;
  }
}

export type LoadedConfig = {
  config: DeployConfig;
  /** Absolute path of the file that was loaded. */
  path: string;
  /** sha256 (hex) of the file's bytes, for recording which config a task ran with. */
  hash: string;
} | null;

/**
 * Loads and validates the config. Returns null when there is no file at the default location
 * (`<projectRoot>/deploy-mcp.config.json`); an explicit `configPath` (relative paths are resolved
 * against `projectRoot`) must exist. Throws `ConfigError` for anything else that is wrong.
 */
export async function loadConfig(opts: { projectRoot: string; configPath?: string }): Promise<LoadedConfig> {
  const projectRoot = path.resolve(opts.projectRoot);
  const explicit = opts.configPath !== undefined;
  const file = path.resolve(projectRoot, opts.configPath ?? CONFIG_FILE_NAME);
  const label = displayName(projectRoot, file);

  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return null;
    const reason =
      code === 'ENOENT'
        ? `file not found (${file})`
        : code === 'EISDIR'
          ? `is a directory, not a file (${file})`
          : code === 'EACCES' || code === 'EPERM'
            ? `cannot be read: permission denied (${file})`
            : `cannot be read: ${(error as Error).message}`;
    const hint =
      code === 'ENOENT'
        ? 'Check the --config path, or run `deploy-mcp init` to write a starter config.'
        : 'Check the path and its permissions.';
    throw new ConfigError([{ path: '', message: reason }], file, { label, hint });
  }

  const hash = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([{ path: '', message: 'is not valid UTF-8 text' }], file, { label });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const config = parseConfigText(text, { file, label });
  return { config, path: file, hash };
}

/** Parses and validates the text of a config file (JSONC). Throws `ConfigError`. */
export function parseConfigText(text: string, options: { file?: string | null; label?: string } = {}): DeployConfig {
  const file = options.file ?? null;
  let parsed: ReturnType<typeof parseJsonc>;
  try {
    parsed = parseJsonc(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new ConfigError(
      [
        {
          path: '',
          message: `invalid JSON at line ${error.line}, column ${error.column}: ${error.message}`,
          line: error.line,
          column: error.column,
        },
      ],
      file,
      { label: options.label },
    );
  }

  const duplicateIssues: ConfigIssue[] = parsed.duplicates.map((d) => ({
    path: formatPath(d.path),
    message: `is defined twice (${d.firstLine === d.line ? `line ${d.line}` : `lines ${d.firstLine} and ${d.line}`}); only the last would count — remove one`,
    line: d.line,
  }));
  const lineOf = (p: readonly PropertyKey[]) => {
    // The line of the deepest part of the path that exists in the file.
    for (let n = p.length; n >= 0; n--) {
      const line = parsed.lines.get(pathKey(p.slice(0, n)));
      if (line !== undefined) return line;
    }
    return undefined;
  };
  return validateConfig(parsed.value, { file, label: options.label, lineOf, extraIssues: duplicateIssues });
}

/** Validates an already-parsed config object and applies the schema's defaults. Throws `ConfigError`. */
export function validateConfig(
  value: unknown,
  options: {
    file?: string | null;
    label?: string;
    lineOf?: (path: readonly PropertyKey[]) => number | undefined;
    extraIssues?: ConfigIssue[];
  } = {},
): DeployConfig {
  const result = ConfigSchema.safeParse(value, { error: configErrorMap });
  const issues = [...(options.extraIssues ?? [])];
  if (!result.success) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ path: '', message: 'must contain a JSON object ({ "project": …, "environments": { … } })' });
    } else {
      issues.push(...toConfigIssues(result.error.issues, value, options.lineOf));
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, options.file ?? null, { label: options.label });
  return result.data as DeployConfig;
}

function displayName(projectRoot: string, file: string): string {
  const relative = path.relative(projectRoot, file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

// ---------------------------------------------------------------------------------------------
// Rules derived from the config

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `'90s'`, `'30m'`, `'24h'`, `'7d'` → milliseconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const match = typeof text === 'string' ? DURATION_PATTERN.exec(text.trim()) : null;
  if (!match) {
    throw new Error(
      `invalid duration ${JSON.stringify(text)}: write a whole number followed by s, m, h or d, e.g. "90s", "30m", "24h" or "7d"`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2]];
}

const ENVIRONMENT_PLACEHOLDER = '${environment}';

/**
 * Returns a deep copy of `value` with `${environment}` replaced in every string. Other `${…}`
 * placeholders are left as they are; object keys are not changed.
 */
export function substituteEnvironment<T>(value: T, environment: string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split(ENVIRONMENT_PLACEHOLDER).join(environment);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(v)) {
        Object.defineProperty(out, key, { value: walk(inner), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** Absolute path of the state directory (`stateDir`, default `.deploy-mcp`, relative to the project root). */
export function resolveStateDir(projectRoot: string, config: DeployConfig | null): string {
  return path.resolve(projectRoot, config?.stateDir ?? DEFAULT_STATE_DIR);
}

export type PackageManager = 'pnpm' | 'npm' | 'yarn';

const LOCKFILES: [string, PackageManager][] = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];

/**
 * The project's package manager, from its lockfile. With several lockfiles (or none), the
 * `packageManager` field of package.json decides; failing that pnpm > yarn > npm, and npm when
 * there is nothing to go on.
 */
export function detectPackageManager(projectRoot: string): PackageManager {
  const found = new Set<PackageManager>();
  for (const [file, manager] of LOCKFILES) {
    if (existsSync(path.join(projectRoot, file))) found.add(manager);
  }
  if (found.size === 1) return [...found][0];
  const declared = declaredPackageManager(projectRoot);
  if (declared) return declared;
  for (const manager of ['pnpm', 'yarn', 'npm'] as const) if (found.has(manager)) return manager;
  return 'npm';
}

function declaredPackageManager(projectRoot: string): PackageManager | undefined {
  try {
    const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { packageManager?: unknown };
    const name = typeof pkg.packageManager === 'string' ? pkg.packageManager.split('@')[0].trim() : '';
    return name === 'pnpm' || name === 'npm' || name === 'yarn' ? name : undefined;
  } catch {
    return undefined;
  }
}

export interface EffectiveCheck {
  argv: string[];
  source: 'config' | 'default';
}

const DEFAULT_CHECKS: Record<PackageManager, Record<'quality' | 'test' | 'build', string[]>> = {
  pnpm: { quality: ['pnpm', 'quality:check'], test: ['pnpm', 'test'], build: ['pnpm', 'build'] },
  npm: { quality: ['npm', 'run', 'quality:check'], test: ['npm', 'test'], build: ['npm', 'run', 'build'] },
  yarn: { quality: ['yarn', 'quality:check'], test: ['yarn', 'test'], build: ['yarn', 'build'] },
};

/**
 * The checks `run-checks` runs, by name. When the config has `checks`, exactly those (a command
 * string is split into argv without a shell); otherwise quality, test and build for the
 * project's package manager.
 */
export function effectiveChecks(
  projectRoot: string,
  config: DeployConfig | null,
): Record<string, EffectiveCheck> {
  const result: Record<string, EffectiveCheck> = {};
  if (config?.checks) {
    for (const [name, command] of Object.entries(config.checks)) {
      result[name] = { argv: typeof command === 'string' ? splitCommand(command) : [...command], source: 'config' };
    }
    return result;
  }
  for (const [name, argv] of Object.entries(DEFAULT_CHECKS[detectPackageManager(projectRoot)])) {
    result[name] = { argv: [...argv], source: 'default' };
  }
  return result;
}
