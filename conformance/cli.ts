import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './cli-error.ts';
import { registerDiff } from './commands/diff.ts';
import { registerFuzz } from './commands/fuzz.ts';
import { registerReport } from './commands/report.ts';
import { registerRun } from './commands/run.ts';
import { registerServe } from './commands/serve.ts';
import { TOOL } from './runner.ts';

function buildProgram(): Command {
  const program = new Command(TOOL.name)
    .description('HTTP/1.1 conformance checks over raw TCP, with an executable reference: a port of Django 3.2 runserver')
    .version(TOOL.version, '--version', 'print the version')
    .helpOption('-h, --help', 'show help for the command')
    // Set before any subcommand is added: commander copies these settings into each subcommand when it is created.
    .exitOverride()
    // Errors, and the help commander prints when no command is given, become one line in reportFailure instead.
    .configureOutput({ outputError: () => {}, writeErr: () => {} })
    .showSuggestionAfterError(true);
  registerRun(program);
  registerServe(program);
  registerFuzz(program);
  registerDiff(program);
  registerReport(program);
  return program;
}

/** Usage errors are one line on stderr and exit 2; commander's own messages span lines ("(Did you mean …?)"). */
function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0; // --help, --version
    if (err.code === 'commander.help') {
      process.stderr.write('h1spec: missing command (h1spec --help lists them)\n');
      return EXIT.usage;
    }
    process.stderr.write(`h1spec: ${oneLine(err.message.replace(/^error: /, ''))}\n`);
    return EXIT.usage;
  }
  if (err instanceof CliError) {
    process.stderr.write(`h1spec: ${oneLine(err.message)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (process.env.H1SPEC_DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : message}\n`);
  else process.stderr.write(`h1spec: internal error: ${oneLine(message)} (H1SPEC_DEBUG=1 shows the stack)\n`);
  return EXIT.usage;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportFailure(err);
}
