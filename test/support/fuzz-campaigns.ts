/** Runs fuzz campaigns in-process for the tests, with the defaults a test wants spelled once. */
import type { Profile, ServerMode } from '../../conformance/catalogue/types.ts';
import { runCampaign, type CampaignSummary } from '../../conformance/fuzz/campaign.ts';
import { applicableProperties, type FuzzProperty } from '../../conformance/fuzz/properties.ts';
import { WHOLE, type Shard } from '../../conformance/fuzz/shard.ts';
import type { RunningTarget } from '../../conformance/targets/types.ts';

export interface TestCampaign {
  runs: number;
  seed: number;
  properties?: string[];
  /** Property objects to run instead of the named ones (differential properties). */
  propertyList?: FuzzProperty[];
  profile?: Profile;
  mode?: ServerMode;
  shard?: Shard;
  concurrency?: number;
  /** Each case's time limit; shorter for a server that swallows requests, where waiting it out is the only end. */
  timeoutMs?: number;
}

/** Generous: a test's loaded machine is no reason for a case to be inconclusive. */
const CASE_TIMEOUT_MS = 10_000;
const CAMPAIGN_TIME_MS = 90_000;

export function campaign(target: RunningTarget, options: TestCampaign): Promise<CampaignSummary> {
  const profile = options.profile ?? 'django';
  return runCampaign({
    target,
    facts: { endpoint: target.endpoint, mode: options.mode ?? 'threaded', probe: true },
    profile,
    properties: options.propertyList ?? applicableProperties(profile, true, options.properties ?? []),
    seed: options.seed,
    runs: options.runs,
    timeMs: CAMPAIGN_TIME_MS,
    shard: options.shard ?? WHOLE,
    concurrency: options.concurrency ?? 8,
    timeoutMs: options.timeoutMs ?? CASE_TIMEOUT_MS,
  });
}
