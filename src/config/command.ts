/**
 * Splitting a check command into argv. Checks run without a shell (SPEC §6), so this is the
 * whole of the "parsing": words, quotes and backslash escapes. `;`, `|`, `&&`, `$()`, backticks,
 * globs, `~` and `$VAR` are ordinary characters and end up inside arguments unchanged.
 */

/** A command that cannot be split. `reason` is the message without the command itself. */
export class CommandSyntaxError extends Error {
  constructor(
    readonly reason: string,
    command: string,
  ) {
    super(`cannot split command ${preview(command)}: ${reason}`);
    this.name = 'CommandSyntaxError';
  }
}

/**
 * Splits a command line into arguments the way a POSIX shell splits words, without any of the
 * shell's other behaviour.
 *
 * - whitespace separates arguments;
 * - `'…'` keeps everything literally;
 * - `"…"` keeps everything literally except `\"`, `\\`, `\$` and `` \` ``, which drop the backslash;
 * - outside quotes, `\x` is a literal `x`;
 * - `''` and `""` produce an empty argument.
 *
 * Throws on an unterminated quote, a trailing lone backslash, or an empty command.
 */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArgument = false;
  let i = 0;

  while (i < command.length) {
    const ch = command[i];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      if (inArgument) {
        args.push(current);
        current = '';
        inArgument = false;
      }
      i++;
      continue;
    }
    inArgument = true;
    if (ch === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) throw unterminated(command, i, 'single');
      current += command.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      const open = i;
      i++;
      let closed = false;
      while (i < command.length) {
        const c = command[i];
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1])) {
          current += command[i + 1];
          i += 2;
          continue;
        }
        current += c;
        i++;
      }
      if (!closed) throw unterminated(command, open, 'double');
    } else if (ch === '\\') {
      if (i + 1 >= command.length) {
        throw new CommandSyntaxError('lone backslash at the end (remove it, or write \\\\ for a literal backslash)', command);
      }
      current += command[i + 1];
      i += 2;
    } else {
      current += ch;
      i++;
    }
  }
  if (inArgument) args.push(current);
  if (args.length === 0) throw new CommandSyntaxError('no program to run (give at least the program, e.g. "pnpm test")', command);
  return args;
}

function unterminated(command: string, position: number, kind: 'single' | 'double'): CommandSyntaxError {
  return new CommandSyntaxError(`unterminated ${kind} quote at character ${position + 1} (close it)`, command);
}

function preview(command: string): string {
  return JSON.stringify(command.length > 60 ? `${command.slice(0, 60)}…` : command);
}
