import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckContext, CheckResult, Level, Needs, Requirement } from '../conformance/catalogue/types.ts';
import { applyExpectation, loadManifest, ManifestError, parseManifest } from '../conformance/manifest.ts';
import { PROBE_CONTRACT } from '../conformance/probes/contract.ts';
import {
  exitCodeFor,
  runChecks,
  selectRequirements,
  SKIP_REASONS,
  TargetUnreachableError,
  UnknownIdError,
  type RunOptions,
} from '../conformance/runner.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { CannedServer } from './support/canned-server.ts';

const servers: CannedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

async function serve(body?: string): Promise<CannedServer> {
  const server = await CannedServer.start({ body });
  servers.push(server);
  return server;
}

function targetOf(server: CannedServer, extra: Partial<RunningTarget> = {}): RunningTarget {
  return {
    endpoint: { host: '127.0.0.1', port: server.port },
    description: `tiny server on port ${server.port}`,
    log: null,
    exited: new Promise(() => {}),
    stop: async () => {},
    ...extra,
  };
}

function requirement(
  id: string,
  check: (ctx: CheckContext) => Promise<CheckResult>,
  more: { level?: Level; needs?: Needs; profiles?: Requirement['profiles'] } = {},
): Requirement {
  return {
    id,
    title: `${id} behaves`,
    profiles: more.profiles ?? ['django'],
    level: more.level ?? 'MUST',
    source: 'test',
    needs: more.needs ?? {},
    check,
  };
}

const result = (verdict: CheckResult['verdict'], actual = `saw ${verdict}`): CheckResult => ({
  verdict,
  expected: 'a 200',
  actual,
  evidence: [{ label: 'GET /', sent: Buffer.from('GET / HTTP/1.1\r\n\r\n'), received: Buffer.from('HTTP/1.1 200 OK\r\n'), close: 'eof' }],
});
const returning = (verdict: CheckResult['verdict']) => async () => result(verdict);

const options = (more: Partial<RunOptions> = {}): RunOptions => ({
  profiles: ['django'],
  strict: false,
  mode: 'threaded',
  timeoutMs: 2000,
  concurrency: 4,
  ...more,
});

describe('runChecks', () => {
  it('keeps each check’s verdict and details, in catalogue order, and counts them', async () => {
    const server = await serve();
    const report = await runChecks(
      [requirement('T-PASS', returning('pass')), requirement('T-FAIL', returning('fail')), requirement('T-OWN-SKIP', returning('skip'))],
      targetOf(server),
      options(),
    );
    expect(report.results.map((r) => [r.id, r.verdict, r.scored])).toEqual([
      ['T-PASS', 'pass', true],
      ['T-FAIL', 'fail', true],
      ['T-OWN-SKIP', 'skip', true],
    ]);
    expect(report.results[1]).toMatchObject({ expected: 'a 200', actual: 'saw fail', source: 'test', level: 'MUST', profiles: ['django'] });
    expect(report.results[1]!.evidence[0]!.sent.toString()).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(report.results[2]!.reason).toBe('saw skip');
    expect(report.counts).toMatchObject({ pass: 1, fail: 1, skip: 1, error: 0 });
    expect(report.death).toBeNull();
    expect(report.probe).toBe(false);
    expect(exitCodeFor(report)).toBe(1);
  });

  it('hands each check the endpoint, the time limit and the mode', async () => {
    const server = await serve();
    let seen: CheckContext | undefined;
    await runChecks(
      [requirement('T-CTX', async (ctx) => ((seen = ctx), result('pass')))],
      targetOf(server),
      options({ timeoutMs: 1234, mode: 'serial' }),
    );
    expect(seen).toMatchObject({ endpoint: { host: '127.0.0.1', port: server.port }, timeoutMs: 1234, mode: 'serial', probe: false, log: null });
  });

  it('turns a check that throws, hangs, or returns garbage into an error and goes on', async () => {
    const server = await serve();
    const report = await runChecks(
      [
        requirement('T-THROWS', async () => {
          throw new Error('boom');
        }),
        requirement('T-HANGS', () => new Promise<CheckResult>(() => {})),
        requirement('T-GARBAGE', async () => ({ verdict: 'maybe' }) as unknown as CheckResult),
        requirement('T-STRING-BYTES', async () => ({ ...result('pass'), evidence: [{ label: 'x', sent: 'GET', received: '', close: 'eof' }] }) as unknown as CheckResult),
        requirement('T-AFTER', returning('pass')),
      ],
      targetOf(server),
      options({ timeoutMs: 500 }),
    );
    const byId = Object.fromEntries(report.results.map((r) => [r.id, r]));
    expect(byId['T-THROWS']).toMatchObject({ verdict: 'error', reason: 'the check threw: boom' });
    expect(byId['T-HANGS']).toMatchObject({ verdict: 'error', reason: 'timed out after 500 ms' });
    expect(byId['T-GARBAGE']).toMatchObject({ verdict: 'error', reason: 'the check returned something that is not a CheckResult' });
    expect(byId['T-STRING-BYTES']).toMatchObject({ verdict: 'error', reason: 'the check returned something that is not a CheckResult' });
    expect(byId['T-AFTER']!.verdict).toBe('pass');
  });

  it('skips checks whose needs the target does not meet, saying why, without running them', async () => {
    const server = await serve('not a probe report');
    let ran = 0;
    const counting = async () => (ran++, result('pass'));
    const report = await runChecks(
      [
        requirement('T-PROBE', counting, { needs: { probe: true } }),
        requirement('T-LOG', counting, { needs: { log: true } }),
        requirement('T-SERIAL', counting, { needs: { mode: 'serial' } }),
        requirement('T-THREADED', counting, { needs: { mode: 'threaded' } }),
      ],
      targetOf(server),
      options(),
    );
    expect(report.results.map((r) => [r.id, r.verdict, r.reason])).toEqual([
      ['T-PROBE', 'skip', SKIP_REASONS.probe],
      ['T-LOG', 'skip', "needs the target's log: use --spawn"],
      ['T-SERIAL', 'skip', 'applies to serial targets (--mode serial)'],
      ['T-THREADED', 'pass', undefined],
    ]);
    expect(ran).toBe(1);
  });

  it('finds the probe application and runs the checks that need it', async () => {
    const report = { contract: PROBE_CONTRACT, environ: { REQUEST_METHOD: 'GET' }, objects: {}, body: { length: 0, base64: '' } };
    const server = await serve(JSON.stringify(report));
    const run = await runChecks([requirement('T-PROBE', async (ctx) => result(ctx.probe ? 'pass' : 'fail'), { needs: { probe: true } })], targetOf(server), options());
    expect(run.probe).toBe(true);
    expect(run.results[0]!.verdict).toBe('pass');
  });

  it('gives a log window to checks that need the log, and runs them alone', async () => {
    const server = await serve();
    let running = 0;
    const overlaps: Record<string, number> = {};
    const tracked = (id: string, needs: Needs = {}) =>
      requirement(
        id,
        async (ctx) => {
          running++;
          overlaps[id] = running;
          await sleep(10);
          running--;
          return result(needs.log && ctx.log ? 'pass' : needs.log ? 'fail' : 'pass');
        },
        { needs },
      );
    const windows: string[] = [];
    const log = { window: () => ({ lines: async () => (windows.push('opened'), []) }) };
    const report = await runChecks(
      [tracked('T-A'), tracked('T-B'), tracked('T-LOG', { log: true }), tracked('T-EXCL', { exclusive: true }), tracked('T-C'), tracked('T-D')],
      targetOf(server, { log }),
      options({ concurrency: 4 }),
    );
    expect(report.results.every((r) => r.verdict === 'pass')).toBe(true);
    expect(overlaps['T-LOG']).toBe(1);
    expect(overlaps['T-EXCL']).toBe(1);
    expect(overlaps['T-B']).toBe(2);
    expect(overlaps['T-D']).toBe(2);
  });

  it('never runs more checks at once than allowed, and one at a time for a serial target', async () => {
    const server = await serve();
    const peak = async (mode: RunOptions['mode'], concurrency: number): Promise<number> => {
      let running = 0;
      let highest = 0;
      const check = async () => {
        highest = Math.max(highest, ++running);
        await sleep(5);
        running--;
        return result('pass');
      };
      const ids = ['T-1', 'T-2', 'T-3', 'T-4', 'T-5', 'T-6'];
      await runChecks(ids.map((id) => requirement(id, check)), targetOf(server), options({ mode, concurrency }));
      return highest;
    };
    expect(await peak('threaded', 3)).toBe(3);
    expect(await peak('serial', 8)).toBe(1);
  });

  it('marks the checks after the target died as errors and reports the death once', async () => {
    const server = await serve();
    const report = await runChecks(
      [
        requirement('T-BEFORE', returning('pass')),
        requirement('T-KILLER', async () => (await server.kill(), result('fail'))),
        requirement('T-NEXT', returning('pass')),
        requirement('T-LAST', returning('fail')),
      ],
      targetOf(server),
      options({ concurrency: 1 }),
    );
    expect(report.results.map((r) => [r.id, r.verdict])).toEqual([
      ['T-BEFORE', 'pass'],
      ['T-KILLER', 'error'],
      ['T-NEXT', 'error'],
      ['T-LAST', 'error'],
    ]);
    // What the killer saw may be the death itself: it decides nothing, and says what it saw.
    expect(report.results[1]!.reason).toMatch(/^the target died during this check \(.+\); the check saw: fail: /);
    expect(report.death?.after).toBe('T-KILLER');
    expect(report.results.slice(2).map((r) => r.reason)).toEqual(['target died after T-KILLER', 'target died after T-KILLER']);
  });

  it('learns of a spawned target’s exit from `exited`, even while it still answers', async () => {
    const server = await serve();
    let exit!: (how: string) => void;
    const exited = new Promise<string>((resolve) => (exit = resolve));
    const report = await runChecks(
      [requirement('T-EXITS', async () => (exit('exit code 3'), result('pass'))), requirement('T-NEXT', returning('pass'))],
      targetOf(server, { exited }),
      options({ concurrency: 1 }),
    );
    expect(report.death).toEqual({ after: 'T-EXITS', detail: 'the process ended (exit code 3)' });
    expect(report.results[1]).toMatchObject({ verdict: 'error', reason: 'target died after T-EXITS' });
    expect(exitCodeFor(report)).toBe(1);
  });

  it('refuses to run against a target that does not answer before the first check', async () => {
    const server = await serve();
    const target = targetOf(server);
    await server.kill();
    let ran = false;
    await expect(runChecks([requirement('T-X', async () => ((ran = true), result('pass')))], target, options())).rejects.toBeInstanceOf(TargetUnreachableError);
    expect(ran).toBe(false);
  });

  it('turns checks not started within the budget into errors', async () => {
    const server = await serve();
    const report = await runChecks(
      // The budget must outlast the opening GET on a loaded machine, and the first check must outlast the budget.
      [requirement('T-SLOW', async () => (await sleep(700), result('pass'))), requirement('T-LATE', returning('pass'))],
      targetOf(server),
      options({ budgetMs: 500, concurrency: 1 }),
    );
    expect(report.results.map((r) => [r.id, r.verdict, r.reason])).toEqual([
      ['T-SLOW', 'pass', undefined],
      ['T-LATE', 'error', 'budget exhausted'],
    ]);
  });

  it('scores SHOULD and MAY failures only under --strict', async () => {
    const server = await serve();
    const checks = [requirement('T-SHOULD', returning('fail'), { level: 'SHOULD' }), requirement('T-MAY', returning('error'), { level: 'MAY' })];
    const lenient = await runChecks(checks, targetOf(server), options());
    expect(lenient.results.map((r) => [r.verdict, r.scored])).toEqual([['fail', false], ['error', false]]);
    expect(exitCodeFor(lenient)).toBe(0);
    const strict = await runChecks(checks, targetOf(server), options({ strict: true }));
    expect(strict.results.map((r) => r.scored)).toEqual([true, true]);
    expect(exitCodeFor(strict)).toBe(1);
  });

  it('applies the manifest: expected outcomes are xfail, a pass where a failure was expected is xpass', async () => {
    const server = await serve();
    const ids = ['T-XFAIL', 'T-XPASS', 'T-XERROR', 'T-XSKIP', 'T-WRONG'];
    const manifest = parseManifest(
      [
        'expectations:',
        '  T-XFAIL: { verdict: fail, reason: known deviation }',
        '  T-XPASS: { verdict: fail, reason: fixed since }',
        '  T-XERROR: { verdict: error, reason: hangs }',
        '  T-XSKIP: { verdict: skip, reason: no log here }',
        '  T-WRONG: { verdict: error, reason: was an error }',
      ].join('\n'),
      'test.yaml',
      ids,
    );
    const checks = [
      requirement('T-XFAIL', returning('fail')),
      requirement('T-XPASS', returning('pass'), { level: 'SHOULD' }),
      requirement('T-XERROR', returning('error')),
      requirement('T-XSKIP', returning('pass'), { needs: { log: true } }),
      requirement('T-WRONG', returning('fail')),
    ];
    const report = await runChecks(checks, targetOf(server), options({ manifest }));
    expect(report.results.map((r) => [r.id, r.verdict])).toEqual([
      ['T-XFAIL', 'xfail'],
      ['T-XPASS', 'xpass'],
      ['T-XERROR', 'xfail'],
      ['T-XSKIP', 'skip'],
      ['T-WRONG', 'fail'],
    ]);
    expect(report.results[0]).toMatchObject({ expectation: { verdict: 'fail', reason: 'known deviation' } });
    expect(report.results[2]).toMatchObject({ reason: 'saw error', expectation: { verdict: 'error', reason: 'hangs' } });
    expect(report.results[3]).toMatchObject({ reason: SKIP_REASONS.log, expectation: { verdict: 'skip', reason: 'no log here' } });
    expect(report.results[1]!.scored).toBe(true);
    expect(report.manifest).toBe('test.yaml');

    const onlyExpected = await runChecks([checks[0]!, checks[2]!, checks[3]!], targetOf(server), options({ manifest }));
    expect(exitCodeFor(onlyExpected)).toBe(0);
    const withXpass = await runChecks([checks[0]!, checks[1]!], targetOf(server), options({ manifest }));
    expect(exitCodeFor(withXpass)).toBe(1);
  });

  it('tells an observer about every check as it finishes', async () => {
    const server = await serve();
    const events: string[] = [];
    await runChecks([requirement('T-1', returning('pass')), requirement('T-2', returning('fail'), { needs: { log: true } })], targetOf(server), {
      ...options(),
      observer: {
        started: (total) => events.push(`started ${total}`),
        checkFinished: (record, done) => events.push(`${done} ${record.id} ${record.verdict}`),
        finished: () => events.push('finished'),
      },
    });
    expect(events).toEqual(['started 2', '1 T-2 skip', '2 T-1 pass', 'finished']);
  });
});

describe('selectRequirements', () => {
  const check = returning('pass');
  const catalogue = [
    requirement('ENV-ONE', check, { profiles: ['django', 'wsgi'] }),
    requirement('RFC-TWO', check, { profiles: ['rfc'] }),
    requirement('KA-THREE', check, { profiles: ['django', 'rfc'] }),
  ];
  const ids = (selection: Parameters<typeof selectRequirements>[1]) => selectRequirements(catalogue, selection).map((r) => r.id);

  it('takes the selected profiles, in catalogue order, minus --skip', () => {
    expect(ids({ profiles: ['django'] })).toEqual(['ENV-ONE', 'KA-THREE']);
    expect(ids({ profiles: ['rfc', 'wsgi'] })).toEqual(['ENV-ONE', 'RFC-TWO', 'KA-THREE']);
    expect(ids({ profiles: ['django'], skip: ['ENV-ONE'] })).toEqual(['KA-THREE']);
  });

  it('runs --only IDs whatever their profile', () => {
    expect(ids({ profiles: ['django'], only: ['RFC-TWO'] })).toEqual(['RFC-TWO']);
  });

  it('names an unknown ID and the nearest known one', () => {
    expect(() => ids({ profiles: ['django'], only: ['RFC-TW0'] })).toThrow(new UnknownIdError('--only: unknown requirement ID "RFC-TW0" (did you mean RFC-TWO?)'));
    expect(() => ids({ profiles: ['django'], skip: ['NOTHING-LIKE-IT-AT-ALL'] })).toThrow(new UnknownIdError('--skip: unknown requirement ID "NOTHING-LIKE-IT-AT-ALL"'));
  });
});

describe('manifest', () => {
  const known = ['RFC-EMPTY-LINE', 'TLS-PROMPT', 'KA-HALF-CLOSE'];
  const parse = (text: string) => parseManifest(text, 'm.yaml', known);

  it('reads YAML and JSON alike', () => {
    const fromYaml = parse('expectations:\n  RFC-EMPTY-LINE:\n    verdict: fail\n    reason: "Django closes on a blank line"\n');
    const fromJson = parse('{"expectations": {"RFC-EMPTY-LINE": {"verdict": "fail", "reason": "Django closes on a blank line"}}}');
    expect(fromYaml.expectations).toEqual(fromJson.expectations);
    expect(fromYaml.expectations.get('RFC-EMPTY-LINE')).toEqual({ verdict: 'fail', reason: 'Django closes on a blank line' });
    expect(parse('expectations:\n  TLS-PROMPT: { verdict: error, reason: r }\n  KA-HALF-CLOSE: { verdict: skip, reason: s }\n').expectations.size).toBe(2);
  });

  it.each([
    ['bad YAML', 'expectations: { RFC-EMPTY-LINE: [\n', /^manifest m\.yaml: not valid YAML or JSON: /],
    ['not a mapping', '- a\n- b\n', /expected a mapping with an "expectations" key/],
    ['no expectations', 'expect: {}\n', /unknown top-level key "expect"/],
    ['unknown ID', 'expectations:\n  RFC-EMPTY-LIEN: { verdict: fail, reason: r }\n', /unknown requirement ID "RFC-EMPTY-LIEN" \(did you mean RFC-EMPTY-LINE\?\)/],
    ['missing reason', 'expectations:\n  TLS-PROMPT: { verdict: fail }\n', /TLS-PROMPT: missing reason/],
    ['blank reason', 'expectations:\n  TLS-PROMPT: { verdict: fail, reason: "  " }\n', /TLS-PROMPT: missing reason/],
    ['bad verdict', 'expectations:\n  TLS-PROMPT: { verdict: pass, reason: r }\n', /TLS-PROMPT: verdict must be one of fail, error, skip \(got "pass"\)/],
    ['misspelt key', 'expectations:\n  TLS-PROMPT: { verdict: fail, reason: r, reson: x }\n', /TLS-PROMPT: unknown key "reson"/],
    ['duplicate ID', 'expectations:\n  TLS-PROMPT: { verdict: fail, reason: r }\n  TLS-PROMPT: { verdict: skip, reason: r }\n', /not valid YAML or JSON: .*unique/],
  ])('rejects %s with one line naming the file', (_name, text, message) => {
    expect(() => parse(text)).toThrow(ManifestError);
    expect(() => parse(text)).toThrow(message);
    try {
      parse(text);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('says so when the file cannot be read', async () => {
    await expect(loadManifest('/nonexistent/h1spec.yaml', known)).rejects.toThrow(/^cannot read manifest \/nonexistent\/h1spec\.yaml: ENOENT/);
  });

  it.each([
    ['pass', undefined, 'pass'],
    ['fail', 'fail', 'xfail'],
    ['pass', 'fail', 'xpass'],
    ['error', 'fail', 'error'],
    ['error', 'error', 'xfail'],
    ['pass', 'error', 'xpass'],
    ['fail', 'error', 'fail'],
    ['skip', 'skip', 'skip'],
    ['pass', 'skip', 'xpass'],
    ['fail', 'skip', 'fail'],
  ] as const)('a check that says %s where the manifest expects %s is %s', (actual, expected, verdict) => {
    expect(applyExpectation(actual, expected && { verdict: expected, reason: 'r' })).toBe(verdict);
  });
});
