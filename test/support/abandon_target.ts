/**
 * A harness that starts a target and never stops it, for test/spawn.test.ts:
 * `abandon_target.ts MODE COMMAND` prints the target's PID, then ends by MODE: `return` (falls off the end),
 * `throw` (an uncaught exception) or `signal` (waits, at most 30 s, for the test to send it SIGTERM).
 */
import { spawnTarget } from '../../conformance/targets/spawn.ts';

const [mode, command] = process.argv.slice(2);
const target = await spawnTarget(command!, { startTimeoutMs: 10_000 });
process.stdout.write(`${target.pid}\n`);

if (mode === 'throw') throw new Error('the harness failed');
if (mode === 'signal') setTimeout(() => process.exit(3), 30_000);
