// Runs every benchmark in turn (cold-start, latency, verify-infrastructure), each in its own
// process with a time limit. Figures only; nothing here asserts on time.
//   node bench/run-all.mjs [name-filter ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const LIMIT_MIN = { 'verify-infrastructure.mjs': 50 };
const only = process.argv.slice(2);
const summary = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.mjs') && !['run-all.mjs', 'lib.mjs', 'floor-server.mjs'].includes(f)).sort()) {
  if (only.length && !only.some((o) => file.includes(o))) continue;
  console.log(`\n== ${file}`);
  const t0 = Date.now();
  // Each script also has its own watchdog; this limit is the backstop (SIGKILL leaves no cleanup,
  // so SIGTERM first: the scripts remove their temp dirs and stop moto on SIGTERM).
  const r = spawnSync(process.execPath, [path.join(dir, file)], { stdio: 'inherit', timeout: (LIMIT_MIN[file] ?? 15) * 60_000, killSignal: 'SIGTERM' });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  const ok = r.status === 0;
  summary.push(`${file}: ${ok ? 'ok' : `FAILED (${r.status ?? r.signal ?? r.error?.message})`} in ${secs} s`);
  if (!ok) process.exitCode = 1;
}
console.log(`\n== summary\n${summary.join('\n')}`);
