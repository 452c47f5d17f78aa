/**
 * Turning zod issues into one plain-English line per problem: the field path in dotted/bracket
 * form, what is wrong, and the offending value — truncated, and withheld when it looks like a
 * secret, because these messages end up in terminals, logs and the agent's context.
 */
import type { z } from 'zod';
import { unknownFieldMessage } from './schema.js';

export interface ConfigIssue {
  /** Dotted/bracket path, e.g. `resources[2].expect.versioning`; `''` for the file as a whole. */
  path: string;
  message: string;
  /** Line in the file, when known. */
  line?: number;
  column?: number;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['resources', 2, 'expect', 'versioning']` → `resources[2].expect.versioning`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (IDENTIFIER.test(key)) out += out ? `.${key}` : key;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

const MAX_SHOWN = 40;

// Values that must not be echoed: AWS keys, PEM blocks, credential assignments, URLs with
// embedded credentials or query strings, and long random-looking tokens.
const SECRET_VALUE_PATTERNS = [
  /\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)\s*[=:]/i,
  /^[a-z][a-z0-9+.-]*:\/\/[^/\s@]+@/i,
  /^https?:\/\/[^?\s]+\?.*(sig|token|key|secret|signature)=/i,
  /^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9+/=_]{32,}$/,
];
const SECRET_FIELD_NAMES = /(secret|password|passwd|token|credential|webhook|api[-_]?key|private)/i;

export function looksSecret(value: string, fieldName?: string): boolean {
  if (fieldName && SECRET_FIELD_NAMES.test(fieldName)) return true;
  return SECRET_VALUE_PATTERNS.some((pattern) => pattern.test(value));
}

/** How a value is shown after "got": strings quoted and truncated, structures by kind. */
export function describeValue(value: unknown, fieldName?: string): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': {
      if (looksSecret(value, fieldName)) return 'a value that is not shown because it may be a secret';
      const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
      return JSON.stringify(shown);
    }
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object ({ … })',
  record: 'an object ({ … })',
  array: 'a list ([ … ])',
  null: 'null',
};

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

type RawIssue = z.core.$ZodRawIssue;

/**
 * Error map used when parsing the config: plain English for every issue the schema itself does
 * not word. Messages say what the field must be; the value is appended by `toConfigIssues`.
 */
export function configErrorMap(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required but missing';
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
      if (issue.origin === 'array') return min <= 1 ? 'must not be an empty list' : `must list at least ${min} items`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      if (issue.origin === 'array') return `must list at most ${max} items`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${quoteList(issue.values)}`;
    case 'invalid_format':
      if (issue.format === 'email') return 'must be an email address';
      if (issue.format === 'url') return 'must be a URL';
      return `has the wrong format${issue.pattern ? ` (expected ${issue.pattern})` : ''}`;
    case 'invalid_union':
      if (issue.discriminator !== undefined) {
        const options = (issue as { options?: readonly unknown[] }).options;
        if (options?.length) return `must be one of ${quoteList(options)}`;
      }
      return 'does not match any of the allowed forms';
    case 'unrecognized_keys': {
      const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def
        ?.shape;
      return unknownFieldMessage(issue.keys, shape ? Object.keys(shape) : []);
    }
    case 'invalid_key':
      return issue.issues[0]?.message ?? 'is not an allowed name';
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
}

/** The value at a path of the parsed input, for issues that do not carry their own. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

const SHOWS_VALUE = new Set(['invalid_type', 'invalid_value', 'invalid_format', 'invalid_union', 'custom', 'too_small', 'too_big', 'not_multiple_of']);

/** Zod issues (parsed with `configErrorMap`) → config issues, with the offending value appended. */
export function toConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  lineOf?: (path: readonly PropertyKey[]) => number | undefined,
): ConfigIssue[] {
  const result: ConfigIssue[] = [];
  for (const issue of issues) {
    let path: PropertyKey[] = [...issue.path];
    let message = issue.message;

    if (issue.code === 'invalid_key') {
      // Record keys: the key itself is what is wrong, so name it instead of a value.
      const key = path[path.length - 1];
      path = path.slice(0, -1);
      message = `${JSON.stringify(String(key))}: ${message}`;
    } else if (SHOWS_VALUE.has(issue.code)) {
      const value = valueAt(input, path);
      if (issue.code === 'invalid_union' && value === undefined && path.length > 0) {
        message = `is required and ${message}`;
      }
      const fieldName = [...path].reverse().find((p) => typeof p === 'string') as string | undefined;
      const isEmptyString = value === '' && (issue.code === 'too_small' || issue.code === 'too_big');
      const isLengthIssue = typeof value === 'string' && (issue.code === 'too_small' || issue.code === 'too_big');
      const isStructure = value !== null && typeof value === 'object';
      if (value !== undefined && !isEmptyString && !isLengthIssue && !isStructure && !message.includes('(got ')) {
        message += ` (got ${describeValue(value, fieldName)})`;
      } else if (isStructure && issue.code === 'invalid_type') {
        message += ` (got ${describeValue(value)})`;
      }
    }

    const entry: ConfigIssue = { path: formatPath(path), message };
    const line = lineOf?.(path);
    if (line !== undefined) entry.line = line;
    result.push(entry);
  }
  return result;
}
