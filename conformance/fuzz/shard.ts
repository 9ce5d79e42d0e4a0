/**
 * Deterministic sharding: a campaign is the sequence of case indices 0, 1, 2, …; case i has its own seed and its own
 * property, both derived from the campaign seed and i alone, and shard I of N runs exactly the indices i with
 * i mod N = I - 1. N machines running shards 1..N of the same seed and run count therefore run, between them, exactly
 * the cases of one unsharded run, and `h1spec report merge` of their outputs equals that run's output.
 */
import { caseSeed } from './engine.ts';

export interface Shard {
  /** 1-based, as `--shard 1/4` says it. */
  index: number;
  count: number;
}

export const WHOLE: Shard = { index: 1, count: 1 };

export class ShardError extends Error {
  override name = 'ShardError';
}

/** `I/N` with 1 ≤ I ≤ N. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count || !Number.isSafeInteger(count)) {
    throw new ShardError(`expected I/N with 1 ≤ I ≤ N (e.g. 2/8), got "${text}"`);
  }
  return { index, count };
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** The case indices of `shard` below `runs`, lazily, in order. */
export function* shardIndices(shard: Shard, runs: number): Generator<number> {
  for (let i = shard.index - 1; i < runs; i += shard.count) yield i;
}

/** How many of `runs` cases fall to `shard`. */
export function shardSize(shard: Shard, runs: number): number {
  return runs < shard.index ? 0 : Math.floor((runs - shard.index) / shard.count) + 1;
}

/** Which of the weighted choices case `index` of a campaign gets: a hash of both, so every shard sees the same mix. */
export function pickWeighted<T extends { weight: number }>(choices: readonly T[], campaignSeed: number, index: number): T {
  const total = choices.reduce((sum, c) => sum + c.weight, 0);
  let point = (caseSeed(campaignSeed ^ 0x5bd1e995, index) >>> 0) % total;
  for (const choice of choices) {
    if (point < choice.weight) return choice;
    point -= choice.weight;
  }
  return choices.at(-1)!;
}
