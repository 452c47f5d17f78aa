// Makes the built CLI executable (npm links it as the `deploy-mcp` bin).
import { chmodSync, existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('postbuild: dist/src/cli.js is missing; did tsc fail?');
  process.exit(1);
}
chmodSync(cli, 0o755);
