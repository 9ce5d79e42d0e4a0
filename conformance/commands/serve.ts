import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { loadApplication } from '../../reference/apps.ts';
import { WSGIServer } from '../../reference/server.ts';
import { ServerLog, type LogFormat } from '../../reference/server-log.ts';
import { CliError } from '../cli-error.ts';

interface ServeOptions {
  host?: string;
  port: number;
  nothreading?: boolean;
  ipv6?: boolean;
  app: string;
  logFormat: LogFormat;
  timeout?: number;
  maxConnections?: number;
}

/** setTimeout's own limit (2^31-1 ms), in whole seconds. */
const MAX_TIMEOUT_SECONDS = 2_147_483;
const MAX_CONNECTIONS = 1_000_000;

const HELP_AFTER = `
Limits (not in Django, which waits on a client for ever and serves any number at once; both off by default):
  --timeout S          a request head (request line and headers) must be complete within S seconds of the server
                       beginning to wait for it, however the client drips it; afterwards, while the body is read and
                       the response written, a connection on which no byte moves for S seconds is closed.
  --max-connections N  at most N connections are served at once; further ones are accepted but wait, unread, in
                       arrival order, and are served as others end (without threading, N is 1).
  Together they make the server slowloris-safe: slow clients are shed after S seconds, and cannot take more than N
  handlers while others wait their turn.
`;

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0 || seconds > MAX_TIMEOUT_SECONDS) {
    throw new InvalidArgumentError(`Expected a number of seconds above 0, at most ${MAX_TIMEOUT_SECONDS}.`);
  }
  return seconds;
}

function parseConnectionCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > MAX_CONNECTIONS) {
    throw new InvalidArgumentError(`Expected a whole number from 1 to ${MAX_CONNECTIONS}.`);
  }
  return count;
}

/**
 * The log written once per turn of the event loop instead of once per record: a busy server logs a line per request,
 * and a write per line would be a system call per request. Order is kept, and no line waits past the current turn.
 */
function writtenOncePerTurn(stream: NodeJS.WritableStream): (text: string) => void {
  let pending = '';
  const flush = () => {
    stream.write(pending);
    pending = '';
  };
  return (text) => {
    if (pending === '') setImmediate(flush);
    pending += text;
  };
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535.');
  return port;
}

function formatUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

/** `h1spec serve`: the reference server in the foreground, as `manage.py runserver --noreload` is. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("run the reference server (a port of Django 3.2's runserver) in the foreground")
    .option('--host <address>', 'address to bind (default 127.0.0.1, or ::1 with --ipv6)')
    .option('--port <port>', 'port to bind (0 picks a free one)', parsePort, 8000)
    .option('--nothreading', 'serve one connection at a time, as runserver --nothreading')
    .option('--ipv6', 'bind an IPv6 address, as runserver --ipv6')
    .option('--app <app>', 'probe, hello, or a module file exporting `application`', 'probe')
    .addOption(new Option('--log-format <format>', 'django: as runserver logs; json: one object per line, with the level').choices(['django', 'json']).default('django'))
    .option('--timeout <seconds>', 'shed a client that is this slow (see below; default: never, as Django)', parseSeconds)
    .addOption(
      new Option('--max-connections <n>', 'serve at most this many connections at once; the rest wait (default: no limit, as Django)')
        .argParser(parseConnectionCount)
        .conflicts('nothreading'),
    )
    .addHelpText('after', HELP_AFTER)
    .action(async (options: ServeOptions) => {
      const host = options.host ?? (options.ipv6 ? '::1' : '127.0.0.1');
      let application;
      try {
        application = await loadApplication(options.app);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const log = new ServerLog(writtenOncePerTurn(process.stderr), options.logFormat);
      let server: WSGIServer;
      try {
        server = await WSGIServer.start({
          host,
          port: options.port,
          threaded: !options.nothreading,
          application,
          log,
          ...(options.timeout !== undefined && { timeoutMs: options.timeout * 1000 }),
          ...(options.maxConnections !== undefined && { maxConnections: options.maxConnections }),
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? 'That port is already in use.' : (err as Error).message;
        throw new CliError(`Error: cannot serve on ${formatUrl(host, options.port)}: ${why}`);
      }
      process.stdout.write(
        `h1spec reference server (Django 3.2.25 runserver, ${options.nothreading ? 'no threading' : 'threaded'}), app '${options.app}'\n` +
          `Starting development server at ${formatUrl(host, server.port)}\n` +
          'Quit the server with CONTROL-C.\n',
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
