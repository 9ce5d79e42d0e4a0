/** Exit codes shared by every h1spec command. */
export const EXIT = {
  /** Every scored check passed (or went as the manifest said). */
  passed: 0,
  /** Something failed: a scored fail or error, an unexpected pass, a dead target. */
  failed: 1,
  /** Bad usage, or the target could not be started or reached: nothing about the target was concluded. */
  usage: 2,
} as const;

/** An error the CLI reports as one line on stderr, without a stack trace, exiting with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}
