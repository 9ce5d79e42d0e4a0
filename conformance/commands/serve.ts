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
    .action(async (options: ServeOptions) => {
      const host = options.host ?? (options.ipv6 ? '::1' : '127.0.0.1');
      let application;
      try {
        application = await loadApplication(options.app);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const log = new ServerLog((text) => process.stderr.write(text), options.logFormat);
      let server: WSGIServer;
      try {
        server = await WSGIServer.start({ host, port: options.port, threaded: !options.nothreading, application, log });
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
