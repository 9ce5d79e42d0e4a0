import type { RunReport } from '../runner.ts';

/** The command that runs one check again against the same target, for pasting into a shell. */
export function rerunCommand(report: RunReport, id: string): string {
  return ['npx', 'h1spec', 'run', '--only', id, ...report.targetFlags].map(shellWord).join(' ');
}

/** One word for a POSIX shell: as is when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
