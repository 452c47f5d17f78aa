/** Runs the built CLI under a real pseudo-terminal, as a person at a terminal would. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../dist/src/cli.js');

/** Runs `deploy-mcp <args>` under util-linux `script`, typing `input` line by line at its prompts. */
export function underTty(root: string, args: string, input: string): Promise<{ code: number | null; output: string }> {
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args} --project ${JSON.stringify(root)}`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // Type like a person: answer each prompt once it is on the screen.
    const lines = input.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
    let written = 0;
    const timer = setInterval(() => {
      const prompts = (output.match(/(leave it pending|\(optional\)|\(required\)): /g) ?? []).length;
      if (written < prompts && written < lines.length) {
        child.stdin.write(`${lines[written]}\n`);
        written++;
      }
    }, 100);
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearInterval(timer);
      clearTimeout(killer);
      resolve({ code, output });
    });
  });
}
