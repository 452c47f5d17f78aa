#!/usr/bin/env node
/**
 * deploy-mcp command line. With no verb it serves MCP over stdio. Modules are imported per verb
 * so that starting the server loads only what serving needs.
 */
import { parseArgs } from 'node:util';

const HELP = `deploy-mcp — a phase-guarded AWS deployment workflow for coding agents (MCP server)

Usage:
  deploy-mcp [serve]            serve MCP over stdio (what an MCP client runs)
  deploy-mcp serve --http <host:port>
                                serve MCP over Streamable HTTP at http://<host:port>/mcp for a team:
                                bearer tokens from config http.tokens or DEPLOY_MCP_TOKENS
                                (name:token,name:token); loopback only unless --allow-remote
  deploy-mcp init               write a commented deploy-mcp.config.json starter
  deploy-mcp schema             print the config's JSON Schema
  deploy-mcp status [id]        phase timeline and exit criteria of a task (or all tasks)
  deploy-mcp approve [id]       approve the pending phase transition (interactive terminal only)
  deploy-mcp reject [id]        reject the pending phase transition (interactive terminal only)
  deploy-mcp journal [id]       print a task's journal, rendered from its event log
  deploy-mcp verify [id]        check the hash chain of a task's event log (or of all tasks)
      --repair                  cut a broken log at its first bad line (keeps the rest aside; recorded)
  deploy-mcp unlock <id>        force-release a task's operation lock (interactive terminal or --yes; journaled)

Options:
  --config <file>     config file (default: ./deploy-mcp.config.json)
  --project <dir>     project root (default: the current directory)
  --state-dir <dir>   state directory (default: config stateDir, or .deploy-mcp)
  --read-only         refuse every tool that changes anything
  --force             with init: overwrite an existing config
  --yes               with verify --repair and unlock: do not ask for confirmation
  --http <host:port>  with serve: Streamable HTTP instead of stdio (e.g. 127.0.0.1:8787)
  --allow-remote      with serve --http: allow binding a non-loopback address
  -h, --help          this help
  -v, --version       the version

Add to Claude Code:   claude mcp add deploy-mcp -- npx deploy-mcp
Logs go to stderr; stdout carries the MCP protocol.`;

export interface CliOptions {
  config?: string;
  project: string;
  stateDir?: string;
  readOnly: boolean;
  force: boolean;
  yes: boolean;
  repair: boolean;
  /** `serve --http <host:port>`. */
  http?: string;
  allowRemote?: boolean;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        project: { type: 'string' },
        'state-dir': { type: 'string' },
        'read-only': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        repair: { type: 'boolean', default: false },
        http: { type: 'string' },
        'allow-remote': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`deploy-mcp: ${(err as Error).message}\nRun \`deploy-mcp --help\` for usage.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.version) {
    const { packageVersion } = await import('./paths.js');
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const [verb = 'serve', ...rest] = positionals;
  const opts: CliOptions = {
    config: values.config,
    project: values.project ?? process.cwd(),
    stateDir: values['state-dir'],
    readOnly: values['read-only'] ?? false,
    force: values.force ?? false,
    yes: values.yes ?? false,
    repair: values.repair ?? false,
    http: values.http,
    allowRemote: values['allow-remote'] ?? false,
  };
  const id = rest[0];
  switch (verb) {
    case 'serve':
      if (opts.http !== undefined) return (await import('./transports/http.js')).serveHttp(opts);
      return (await import('./transports/stdio.js')).serveStdio(opts);
    case 'init':
      return (await import('./cli/init.js')).init(opts);
    case 'schema':
      return (await import('./cli/init.js')).schema();
    case 'status':
      return (await import('./cli/status.js')).status(opts, id);
    case 'approve':
    case 'reject':
      return (await import('./cli/approve.js')).decideCommand(opts, verb, id);
    case 'journal':
      return (await import('./cli/status.js')).journal(opts, id);
    case 'verify':
      return (await import('./cli/verify.js')).verify(opts, id);
    case 'unlock':
      return (await import('./cli/unlock.js')).unlock(opts, id);
    default:
      process.stderr.write(`deploy-mcp: unknown command "${verb}".\nRun \`deploy-mcp --help\` for usage.\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`deploy-mcp: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
