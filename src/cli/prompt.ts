/** Questions asked in the terminal, on one readline so typed-ahead answers are not lost. */
import readline from 'node:readline';

export class Prompter {
  private readonly rl: readline.Interface;
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;

  constructor() {
    this.rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: !!process.stdin.isTTY });
    this.rl.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(line);
      } else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.closed = true;
      this.waiting?.(null);
    });
  }

  /** The next line, or null when input ended. */
  ask(question: string): Promise<string | null> {
    process.stdout.write(question);
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  close(): void {
    this.rl.close();
  }
}

export async function askLine(question: string): Promise<string> {
  const p = new Prompter();
  try {
    return (await p.ask(question)) ?? '';
  } finally {
    p.close();
  }
}
