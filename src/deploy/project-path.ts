/** Paths the agent names are resolved inside the project root: nothing outside it is read or shipped. */
import fs from 'node:fs';
import path from 'node:path';
import { ToolError } from '../tool.js';

export function resolveInsideProject(root: string, p: string, what: string): string {
  const realRoot = fs.realpathSync(root);
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(realRoot, p));
  } catch {
    throw new ToolError('path-not-found', `The ${what} ${p} does not exist (looked in ${realRoot}).`, 'Build it first, or fix the path (relative to the project root).');
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new ToolError('path-outside-project', `The ${what} ${p} resolves to ${real}, outside the project root ${realRoot}.`, 'Use a path inside the project.');
  }
  return real;
}
