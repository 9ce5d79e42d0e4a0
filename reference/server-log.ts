import { logDateTime } from './pyfmt.ts';

export type LogLevel = 'INFO' | 'WARNING' | 'ERROR';

export type LogFormat = 'django' | 'json';

/**
 * Django's `django.server` logger as runserver configures it: `[{server_time}] {message}` on stderr at INFO and
 * above. The JSON format is ours (SPEC LOG-LEVELS is checked through it too): one object per record, with the level.
 * Tracebacks bypass it, as Python's `print_exception` writes to stderr directly.
 */
export class ServerLog {
  constructor(
    private readonly writeText: (text: string) => void,
    private readonly format: LogFormat = 'django',
  ) {}

  record(level: LogLevel, message: string, serverTime: string = logDateTime()): void {
    if (this.format === 'json') {
      this.writeText(JSON.stringify({ time: serverTime, level, logger: 'django.server', message }) + '\n');
    } else {
      this.writeText(`[${serverTime}] ${message}\n`);
    }
  }

  info(message: string): void {
    this.record('INFO', message);
  }

  warning(message: string): void {
    this.record('WARNING', message);
  }

  error(message: string): void {
    this.record('ERROR', message);
  }

  /** Raw text on the error stream: tracebacks, and what the application writes to `wsgi.errors`. */
  raw(text: string): void {
    this.writeText(text);
  }
}
