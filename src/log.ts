/**
 * Logs go to stderr and, once a client is connected, to MCP logging notifications. Never stdout:
 * stdout belongs to the protocol. Every message passes the redactor.
 */
import { redactText } from './journal/redact.js';

export type LogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4 };

export type LogSink = (level: LogLevel, message: string, data?: Record<string, unknown>) => void;

export class Logger {
  private sinks: LogSink[] = [];

  constructor(
    private readonly stderrLevel: LogLevel = (process.env.DEPLOY_MCP_LOG_LEVEL as LogLevel) in ORDER
      ? (process.env.DEPLOY_MCP_LOG_LEVEL as LogLevel)
      : 'info',
  ) {}

  addSink(sink: LogSink): () => void {
    this.sinks.push(sink);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  log(level: LogLevel, message: string, data?: Record<string, unknown>): void {
    const text = redactText(message);
    if (ORDER[level] >= ORDER[this.stderrLevel]) {
      process.stderr.write(`deploy-mcp ${level}: ${text}\n`);
    }
    for (const sink of this.sinks) {
      try {
        sink(level, text, data);
      } catch {
        /* a disconnected client must not break the server */
      }
    }
  }

  debug(message: string, data?: Record<string, unknown>) {
    this.log('debug', message, data);
  }
  info(message: string, data?: Record<string, unknown>) {
    this.log('info', message, data);
  }
  warn(message: string, data?: Record<string, unknown>) {
    this.log('warning', message, data);
  }
  error(message: string, data?: Record<string, unknown>) {
    this.log('error', message, data);
  }
}
