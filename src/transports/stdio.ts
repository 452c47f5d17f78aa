/** MCP over stdio: what `npx deploy-mcp` runs for Claude Code and IDE clients. */
import type { CliOptions } from '../cli.js';
import { packageVersion } from '../paths.js';

export async function serveStdio(opts: CliOptions): Promise<number> {
  const [{ createServer }, { StdioServerTransport }] = await Promise.all([
    import('../server.js'),
    import('@modelcontextprotocol/sdk/server/stdio.js'),
  ]);
  const srv = await createServer({ projectRoot: opts.project, configPath: opts.config, stateDir: opts.stateDir, readOnly: opts.readOnly });
  const transport = new StdioServerTransport();
  let closing = false;
  const shutdown = async (code = 0) => {
    if (closing) return;
    closing = true;
    await srv.cleanup().catch(() => undefined);
    process.exit(code);
  };
  transport.onclose = () => void shutdown(0);
  process.stdin.on('end', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));
  await srv.server.connect(transport);
  const where = srv.store ? `state in ${srv.store.location}` : 'NOT CONFIGURED — see the error above';
  process.stderr.write(
    `deploy-mcp ${packageVersion()}` +
      ` serving MCP on stdio for ${opts.project} (${srv.tools.length} tools${srv.config ? `, project ${srv.config.project}` : ', no deploy-mcp.config.json yet: run `npx deploy-mcp init`'}${opts.readOnly || srv.config?.readOnly ? ', read-only' : ''}; ${where}). Add it to Claude Code with: claude mcp add deploy-mcp -- npx deploy-mcp\n`,
  );
  return -1;
}
