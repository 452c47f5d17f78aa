/**
 * JSON with comments and trailing commas (JSONC), the format editors use for config files.
 *
 * Comments and trailing commas are blanked out with spaces (newlines kept), so every offset,
 * line and column in the stripped text is the same as in the file the user edits. The stripped
 * text is then parsed by a small strict JSON parser that says where and what went wrong, records
 * where each value sits (so schema errors can carry a line number), and reports duplicate keys,
 * which `JSON.parse` would silently resolve to the last one.
 */

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface DuplicateKey {
  /** Path of the duplicated member, e.g. `['environments', 'prod']`. */
  path: (string | number)[];
  firstLine: number;
  line: number;
}

export interface ParsedJsonc {
  value: unknown;
  /** Line (1-based) of the value at each path, keyed by `pathKey(path)`. */
  lines: Map<string, number>;
  duplicates: DuplicateKey[];
}

export function pathKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map((p) => (typeof p === 'number' ? p : String(p))));
}

/** 1-based line and column of an offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function syntaxError(text: string, offset: number, message: string): JsonSyntaxError {
  const { line, column } = lineAndColumn(text, offset);
  return new JsonSyntaxError(message, offset, line, column);
}

/**
 * Replaces `//` and `/* *\/` comments and trailing commas with spaces, leaving strings alone.
 * Newlines inside block comments are kept so line numbers do not move.
 */
export function stripJsonComments(text: string): string {
  const out = text.split('');
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
  };

  // Pass 1: comments.
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i = skipString(text, i);
    } else if (ch === '/' && text[i + 1] === '/') {
      let end = i + 2;
      while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
      blank(i, end);
      i = end;
    } else if (ch === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close === -1) throw syntaxError(text, i, 'unterminated /* comment: add the closing */');
      blank(i, close + 2);
      i = close + 2;
    } else {
      i++;
    }
  }

  // Pass 2: trailing commas, on the comment-free text.
  const stripped = out.join('');
  i = 0;
  while (i < stripped.length) {
    const ch = stripped[i];
    if (ch === '"') {
      i = skipString(stripped, i);
      continue;
    }
    if (ch === ',') {
      let next = i + 1;
      while (next < stripped.length && /\s/.test(stripped[next])) next++;
      if (stripped[next] === '}' || stripped[next] === ']') out[i] = ' ';
    }
    i++;
  }
  return out.join('');
}

/** Offset just after the string starting at `start` (or the end of the line if unterminated). */
function skipString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\') i += 2;
    else if (ch === '"') return i + 1;
    else if (ch === '\n') return i; // unterminated: the parser reports it
    else i++;
  }
  return i;
}

/** Parses JSONC text. Throws `JsonSyntaxError` with the line and column of the first problem. */
export function parseJsonc(source: string): ParsedJsonc {
  const text = stripJsonComments(source);
  const lines = new Map<string, number>();
  const duplicates: DuplicateKey[] = [];
  let i = 0;

  // Line starts once, then a binary search: scanning from the top for every key was quadratic.
  const lineStarts = [0];
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) === 10) lineStarts.push(k + 1);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const fail = (message: string, at = i): never => {
    throw syntaxError(text, at, message);
  };
  const skipWhitespace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const describeHere = () => {
    if (i >= text.length) return 'the end of the file';
    if (text[i] === "'") return 'a single quote (JSON strings use double quotes)';
    const token = /^("(?:[^"\\\n]|\\.)*"?|[A-Za-z0-9_.+-]+|.)/.exec(text.slice(i))![0];
    const shown = token.length > 30 ? `${token.slice(0, 30)}…` : token;
    return token.startsWith('"') ? `the string ${shown}` : JSON.stringify(shown);
  };

  const parseString = (): string => {
    const start = i;
    i++;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('invalid \\u escape: expected four hex digits', i);
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
          i += 2;
        } else {
          fail(`invalid escape "\\${next ?? ''}" in a string (to write a backslash, use \\\\)`, i);
        }
        continue;
      }
      if (ch === '\n' || ch === '\r') fail('unterminated string: add the closing " (strings cannot span lines)', start);
      if (ch < ' ') fail('control character in a string: write it as an escape such as \\t', i);
      i++;
    }
    return fail('unterminated string: add the closing "', start);
  };

  const parseNumber = (): number => {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!match) return fail(`expected a value but found ${describeHere()}`);
    i += match[0].length;
    return Number(match[0]);
  };

  const parseValue = (path: (string | number)[]): unknown => {
    skipWhitespace();
    lines.set(pathKey(path), lineAt(i));
    const ch = text[i];
    if (ch === '{') return parseObject(path);
    if (ch === '[') return parseArray(path);
    if (ch === '"') return parseString();
    if (ch === '-' || (ch >= '0' && ch <= '9')) return parseNumber();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    if (i >= text.length) return fail('unexpected end of file: a value, } or ] is missing');
    return fail(`expected a value (a "string", number, true, false, null, {…} or […]) but found ${describeHere()}`);
  };

  const parseObject = (path: (string | number)[]): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    const seenAt = new Map<string, number>();
    i++;
    skipWhitespace();
    if (text[i] === '}') {
      i++;
      return result;
    }
    for (;;) {
      skipWhitespace();
      if (text[i] !== '"') {
        if (i >= text.length) fail('unexpected end of file: a } is missing');
        fail(`expected a property name in double quotes but found ${describeHere()}`);
      }
      const keyOffset = i;
      const key = parseString();
      skipWhitespace();
      if (text[i] !== ':') fail(`expected ":" after the property name "${key}" but found ${describeHere()}`);
      i++;
      const memberPath = [...path, key];
      const value = parseValue(memberPath);
      const keyLine = lineAt(keyOffset);
      lines.set(pathKey(memberPath), keyLine);
      const firstLine = seenAt.get(key);
      if (firstLine !== undefined) duplicates.push({ path: memberPath, firstLine, line: keyLine });
      else seenAt.set(key, keyLine);
      // defineProperty so a "__proto__" key stays an ordinary own property, as with JSON.parse.
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return result;
      }
      if (i >= text.length) fail('unexpected end of file: a } is missing');
      fail(`expected "," or "}" after the value of "${key}" but found ${describeHere()} (is a comma missing?)`);
    }
  };

  const parseArray = (path: (string | number)[]): unknown[] => {
    const result: unknown[] = [];
    i++;
    skipWhitespace();
    if (text[i] === ']') {
      i++;
      return result;
    }
    for (;;) {
      result.push(parseValue([...path, result.length]));
      skipWhitespace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return result;
      }
      if (i >= text.length) fail('unexpected end of file: a ] is missing');
      fail(`expected "," or "]" after a list item but found ${describeHere()} (is a comma missing?)`);
    }
  };

  skipWhitespace();
  if (i >= text.length) fail('the file is empty: it must contain a JSON object');
  const value = parseValue([]);
  skipWhitespace();
  if (i < text.length) fail(`unexpected ${describeHere()} after the end of the top-level value`);
  return { value, lines, duplicates };
}
