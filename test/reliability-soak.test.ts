/**
 * The soak (bench/soak.ts) at a small count: the reference server, in its own process, takes a seeded stream of
 * fuzzed malformed requests and resets without dying, hanging an exchange or growing, and still answers at the end.
 */
import { describe, expect, it } from 'vitest';
import { exchangeFor, runSoak } from '../bench/soak.ts';

const COUNT = 20_000;

describe('the soak', () => {
  it('generates the same exchanges for the same seed, and other ones for another', () => {
    const stream = (seed: number) => Array.from({ length: 50 }, (_, i) => exchangeFor(seed, i));
    expect(stream(7)).toEqual(stream(7));
    expect(stream(8).map((e) => e.bytes)).not.toEqual(stream(7).map((e) => e.bytes));
  });

  it(`${COUNT} fuzzed requests: no crash, no hung exchange, bounded memory, and a valid request answered at the end`, { timeout: 300_000 }, async () => {
    const report = await runSoak({ count: COUNT, seed: 7, concurrency: 32, out: null });
    expect(report.requests).toBe(COUNT);
    expect(report.crashes).toBe(0);
    expect(report.serverExit).toBeNull();
    expect(report.endings.hung).toBe(0);
    expect(report.endings.connectFailed).toBe(0);
    expect(report.rss.bounded).toBe(true);
    expect(report.final).toEqual({ answered: true, status: 'HTTP/1.1 200 OK', probe: true });
    expect(report.survived).toBe(true);
    // Every kind of malformation was sent, and the only tracebacks are those Django and the probe raise on purpose.
    for (const kind of ['valid', 'malformed', 'mutated', 'binary', 'tls', 'blank-lines', 'pipelined', 'oversize']) expect(report.kinds[kind], kind).toBeGreaterThan(0);
    expect(Object.keys(report.tracebacks).filter((name) => name !== 'ProbeRaised' && name !== 'ValueError')).toEqual([]);
  });
});
