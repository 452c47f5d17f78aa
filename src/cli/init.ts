/** `deploy-mcp init` and `deploy-mcp schema`. */
import fs from 'node:fs';
import path from 'node:path';
import type { CliOptions } from '../cli.js';
import { CONFIG_FILE_NAME, configJsonSchema, starterConfig } from '../config/index.js';
import { projectName } from '../config/starter.js';

export async function init(opts: CliOptions): Promise<number> {
  const root = path.resolve(opts.project);
  const file = path.resolve(root, opts.config ?? CONFIG_FILE_NAME);
  if (fs.existsSync(file) && !opts.force) {
    process.stderr.write(`deploy-mcp: ${file} already exists; nothing was written. Use --force to replace it.\n`);
    return 1;
  }
  let name = path.basename(root);
  try {
    name = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: string }).name ?? name;
  } catch {
    /* no package.json: the directory name will do */
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, starterConfig(projectName(name)));
  fs.renameSync(tmp, file);
  process.stderr.write(
    `Wrote ${file}.\nNext: set your real account ids and regions under "environments", list the resources to verify, then add the server to your client (claude mcp add deploy-mcp -- npx deploy-mcp).\n`,
  );
  return 0;
}

export async function schema(): Promise<number> {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
