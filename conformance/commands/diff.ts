import { randomInt } from 'node:crypto';
import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { differentialProperties } from '../fuzz/diff.ts';
import { Lane } from '../fuzz/drive.ts';
import { prepareSetup } from '../fuzz/properties.ts';
import { describeSession, runSession } from '../fuzz/session.ts';
import {
  addCampaignOptions,
  addReplayOptions,
  budgetOf,
  finish,
  regenerate,
  replayFixture,
  replayRequest,
  withFuzzTarget,
  type CampaignFlags,
  type ReplayFlags,
} from './fuzz.ts';
import type { Endpoint } from '../wire/types.ts';
import { parseHostPort, reportedAs, targetFlags, type TargetFlags } from './target-options.ts';

interface DiffFlags extends CampaignFlags, ReplayFlags {
  against?: Endpoint & { text: string };
  againstSpawn?: string;
}

const HELP_AFTER = `
The same generated cases (those of the fuzz properties of --profile) go to the target and to the other one
(--against HOST:PORT, --against-spawn CMD, or by default the embedded reference server in the same --mode); every
observable difference is a finding, shrunk to the smallest bytes that still differ the same way: the status line or
bare body, interim responses, the environ the probe reports (port and server name aside), the body the application
read, and whether the connection closed. Budget, sharding, output and replay work as for \`h1spec fuzz\`.
`;

export function registerDiff(program: Command): void {
  addReplayOptions(addCampaignOptions(program.command('diff').description('send the same generated requests to two targets and report each observable difference, shrunk')))
    .addOption(new Option('--against <host:port>', 'the other target: a running server').argParser(parseHostPort).conflicts('againstSpawn'))
    .option('--against-spawn <command>', 'the other target: start it with this shell command ({port} becomes a free port)')
    .addHelpText('after', HELP_AFTER)
    .action((flags: DiffFlags) => diffCommand(flags));
}

function otherFlags(flags: DiffFlags): TargetFlags {
  return { target: flags.against, spawn: flags.againstSpawn, mode: flags.mode, ipv6: flags.ipv6 };
}

/** The flags that reach both targets again. */
function bothFlags(flags: DiffFlags): string[] {
  const other = flags.against ? ['--against', flags.against.text] : flags.againstSpawn !== undefined ? ['--against-spawn', flags.againstSpawn] : [];
  return [...targetFlags(flags), ...other];
}

async function diffCommand(flags: DiffFlags): Promise<void> {
  const fixture = await replayRequest(flags);
  const code = await withFuzzTarget(flags, (target, facts) =>
    // The other target: the embedded reference unless told otherwise, started and stopped the same way.
    withFuzzTarget({ ...otherFlags(flags), timeout: flags.timeout }, async (other) => {
      const otherSide = { name: other.description, lane: new Lane(other.endpoint, flags.timeout) };
      const properties = differentialProperties(flags.profile, flags.property, target.description, otherSide);
      try {
        if (fixture) {
          const property = properties.find((p) => p.name === fixture.property);
          if (!property) throw new CliError(`${flags.replay}: property ${fixture.property} does not apply under profile ${flags.profile}`);
          return await replayFixture(fixture, property, target, facts, flags);
        }
        if (flags.path !== undefined) {
          const property = properties.find((p) => p.name === flags.property[0]);
          if (!property) throw new CliError(`property ${flags.property[0]} does not apply under profile ${flags.profile}`);
          return await regenerate(property, flags.seed!, flags.path, target, facts, flags, 'diff');
        }
        if (properties.length === 0) throw new CliError(`no property of profile ${flags.profile} matches --property ${flags.property.join(',')}`);
        await prepareSetup(properties);
        const budget = budgetOf(flags);
        const seed = flags.seed ?? randomInt(0, 2 ** 31);
        const config = { target, facts, profile: flags.profile, properties, seed, runs: budget.runs, timeMs: budget.timeMs, shard: flags.shard, concurrency: flags.concurrency, timeoutMs: flags.timeout };
        const session = { command: 'diff' as const, out: flags.out, corpus: flags.corpus, targetFlags: bothFlags(flags), budget: budget.given, extra: { against: other.description, againstEndpoint: other.endpoint } };
        const result = await reportedAs([Error], () => runSession(config, target, session), 'diff: ');
        process.stderr.write(`seed ${seed}; compared with ${other.description}\n`);
        process.stderr.write(describeSession(result, { command: 'diff', target: target.description, out: flags.out, profile: flags.profile, mode: flags.mode }));
        return result.exitCode;
      } finally {
        otherSide.lane.close();
      }
    }),
  );
  return finish('', code);
}
