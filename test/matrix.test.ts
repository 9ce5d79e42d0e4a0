import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'tap-parser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogue } from '../conformance/catalogue/index.ts';
import { loadManifest } from '../conformance/manifest.ts';
import {
  gateCommand,
  matrixExitCode,
  reportFromJson,
  reportMeaning,
  runMatrix,
  stabilise,
  writeMatrix,
  type Matrix,
  type MatrixServer,
  type StableContext,
} from '../conformance/matrix.ts';
import { renderJson, type JsonReport } from '../conformance/reporters/json.ts';
import { exitCodeFor, failingResults } from '../conformance/runner.ts';
import { peerCommandLine, peerManifestPath, peerMissing, peerNamed, peers, REPO_ROOT, spawnPeer } from '../conformance/targets/peers.ts';
import { MIXED, recordOf, reportOf } from './support/run-report.ts';

// Three real servers, each run twice, on a CI machine that may be busy: a couple of minutes at most.
vi.setConfig({ testTimeout: 150_000, hookTimeout: 150_000 });

/** The matrix .ci/run holds green: the reference, the Django it ports, and a third-party WSGI server. */
const GATED = ['reference', 'django', 'waitress'];
const gated = GATED.map((name) => peerNamed(name)!);
const gatedMissing = gated.map(peerMissing).filter((missing) => missing !== null).join('; ');

/** Why a server's gate is red, in a form that says what to change in its manifest. */
function redGate(server: MatrixServer): string {
  if (!server.report) return `${server.name} did not run: ${server.problem}`;
  const lines = failingResults(server.report).map((record) =>
    record.verdict === 'xpass'
      ? `${record.id}: passes now; remove it from ${server.manifest}`
      : `${record.id}: ${record.verdict} (${record.actual || record.reason}); fix the server or add it to ${server.manifest} with a reason`,
  );
  if (server.report.death) lines.push(`the server died after ${server.report.death.after}`);
  return `${server.name}:\n  ${lines.join('\n  ')}`;
}

describe.skipIf(gatedMissing)(`the matrix of ${GATED.join(', ')}${gatedMissing ? ` — skipped: ${gatedMissing}` : ''}`, () => {
  let matrix: Matrix;
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'h1spec-matrix-'));
    matrix = await runMatrix(gated);
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('runs every server green against its expectation manifest', () => {
    const red = matrix.servers.filter((server) => !server.report || exitCodeFor(server.report) !== 0);
    expect(red.map(redGate).join('\n')).toBe('');
    expect(matrixExitCode(matrix)).toBe(0);
    expect(matrix.servers.map((server) => server.manifest)).toEqual([
      'conformance/expectations/django.yaml',
      'conformance/expectations/django.yaml',
      'conformance/expectations/waitress.yaml',
    ]);
  });

  it('records the version each server ran, and holds each to its own profiles', () => {
    const byName = new Map(matrix.servers.map((server) => [server.name, server]));
    expect(byName.get('django')?.version).toMatch(/^Django 3\.2\.\d+$/);
    expect(byName.get('waitress')?.version).toMatch(/^waitress \d/);
    expect(byName.get('reference')?.report?.target).toMatch(/^reference \(h1spec reference \d/);
    expect(byName.get('waitress')?.report?.profiles).toEqual(['wsgi', 'rfc']);
    const djangoOnly = catalogue.filter((requirement) => requirement.profiles.every((profile) => profile === 'django')).map((requirement) => requirement.id);
    expect(byName.get('waitress')?.report?.results.some((record) => djangoOnly.includes(record.id))).toBe(false);
  });

  it('writes per-server TAP and JSON and an index, in Markdown and one HTML page', async () => {
    const { files, changed } = await writeMatrix(matrix, folder);
    expect(changed).toEqual(GATED);
    expect(files.map((file) => file.slice(folder.length + 1)).sort()).toEqual(
      [...GATED.flatMap((name) => [`${name}.json`, `${name}.tap`]), 'index.html', 'index.md'].sort(),
    );
    for (const server of matrix.servers) {
      const tap = await readFile(join(folder, `${server.name}.tap`), 'utf8');
      let count = -1;
      const parser = new Parser({ strict: true }, (results) => (count = results.count));
      parser.end(tap);
      expect(count).toBe(server.report!.results.length);
      const json = JSON.parse(await readFile(join(folder, `${server.name}.json`), 'utf8')) as JsonReport;
      expect(json.summary.exitCode).toBe(0);
      expect(json.results.every((result) => result.durationMs === 0)).toBe(true);
    }
    const markdown = await readFile(join(folder, 'index.md'), 'utf8');
    for (const server of matrix.servers) expect(markdown).toContain(`| ${server.name} | ${server.version} |`);
    // Every known deviation links to its evidence in the same file.
    const links = [...markdown.matchAll(/\]\(#([a-z0-9-]+)\)/g)].map((match) => match[1]);
    expect(links.length).toBeGreaterThan(0);
    for (const anchor of links) expect(markdown).toContain(`<a id="${anchor}"></a>`);
    const html = await readFile(join(folder, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<(?:script|link|img)[^>]+(?:src|href)=/);
  });

  it('a second run that finds the same leaves the snapshot as it was: no churn from ports, dates, timings or random bytes', async () => {
    const before = new Map(await Promise.all(readdirSync(folder).map(async (name) => [name, (await stat(join(folder, name))).mtimeMs] as const)));
    const again = await runMatrix(gated);
    const { changed } = await writeMatrix(again, folder);
    expect(changed).toEqual([]);
    for (const [name, mtime] of before) expect((await stat(join(folder, name))).mtimeMs, name).toBe(mtime);
  });
});

describe('h1spec run --expect: the gate the matrix prints, run as a user would', () => {
  const waitress = peerNamed('waitress')!;
  const missing = peerMissing(waitress);
  it.skipIf(missing)(`exits 0 for waitress with its manifest${missing ? ` — skipped: ${missing}` : ''}`, async () => {
    const server = { targetFlags: ['--spawn', peerCommandLine(waitress)], profiles: waitress.profiles, manifest: peerManifestPath(waitress) };
    const command = gateCommand(server).replace(/^npx h1spec/, `${process.execPath} bin/h1spec.mjs`);
    const outcome = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile('/bin/sh', ['-c', command], { cwd: REPO_ROOT, timeout: 120_000 }, (error, _stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
      ),
    );
    expect(outcome.stderr).toMatch(/exit 0/);
    expect(outcome.code).toBe(0);
  });
});

describe('peer recipes and their manifests', () => {
  it('every server has a manifest that reads against the catalogue, every entry with a reason', async () => {
    const ids = catalogue.map((requirement) => requirement.id);
    for (const peer of peers) {
      const path = join(REPO_ROOT, peerManifestPath(peer));
      expect(existsSync(path), path).toBe(true);
      const manifest = await loadManifest(path, ids);
      for (const [id, expectation] of manifest.expectations) expect(expectation.reason.length, `${peer.name} ${id}`).toBeGreaterThan(10);
    }
  });

  it('at least twelve servers, three of them not WSGI servers, each in one entry', () => {
    expect(peers.length).toBeGreaterThanOrEqual(12);
    expect(new Set(peers.map((peer) => peer.name)).size).toBe(peers.length);
    expect(peers.filter((peer) => !peer.profiles.includes('wsgi')).map((peer) => peer.name)).toEqual(['nginx', 'lighttpd', 'node-http']);
  });

  /** Temporary folders the config launcher made and did not remove. */
  const launcherLeftovers = (): string[] => readdirSync(tmpdir()).filter((name) => /^h1spec-(nginx|lighttpd|apache2)-/.test(name));

  describe.each(['nginx', 'lighttpd'].map((name) => ({ peer: peerNamed(name)!, missing: peerMissing(peerNamed(name)!) })))('$peer.name', ({ peer, missing }) => {
    it.skipIf(missing)(`starts from its config template, serves its static page, stops and removes its folder${missing ? ` — skipped: ${missing}` : ''}`, async () => {
      const before = launcherLeftovers();
      const target = await spawnPeer(peer);
      try {
        const response = await fetch(`http://127.0.0.1:${target.endpoint.port}/`);
        expect(response.status).toBe(200);
        expect(await response.text()).toContain('h1spec static page');
        // The launcher fixed the file's time, so validators derived from it are the same on every run.
        expect(response.headers.get('last-modified')).toBe('Sat, 01 Jan 2000 00:00:00 GMT');
      } finally {
        await target.stop();
      }
      expect(launcherLeftovers().filter((name) => !before.includes(name))).toEqual([]);
    });
  });
});

describe('stabilise', () => {
  const context: StableContext = { name: 'alpha', version: 'alpha 1.0', port: 41234, hostname: 'buildhost', tlsVariants: ['TLS 1.2 only, SNI'] };
  const hello = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), Buffer.alloc(64, 0xa5)]);
  const random = Buffer.from([0x16, 0x03, 0x01, 0x9c, 0x2f, 0x0e, 0x8a, 0xd1, 0x20, 0x17, 0xfe, 0x03, 0xbb]);
  const raw = reportOf(
    [
      recordOf('ENV-PASS', 'pass', { evidence: [{ label: 'served', sent: Buffer.from('GET /'), received: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), close: 'eof' }] }),
      recordOf('RFC-FAIL', 'fail', {
        actual: 'SERVER_PORT "41234" on buildhost; - Broken pipe from (\'127.0.0.1\', 40738)',
        evidence: [
          {
            label: 'ClientHello without LF (TLS 1.2 only, SNI)',
            sent: hello,
            received: Buffer.concat([Buffer.from('HTTP/1.1 400 Bad Request\r\nDate: Tue, 24 Nov 2026 16:30:07 GMT\r\n\r\nBad request version (\''), random, Buffer.from("')\n")]),
            close: 'reset',
          },
          { label: 'probe', sent: Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:41234\r\n\r\n'), received: Buffer.from('{"REMOTE_PORT":"50123","SERVER_NAME":"buildhost"}'), close: 'eof' },
        ],
      }),
    ],
    { endpoint: { host: '127.0.0.1', port: 41234 } },
  );
  const stable = stabilise(raw, context);

  it('blanks ports, dates, the host name, TLS client settings and random bytes, and keeps the verdicts', () => {
    const failed = stable.results[1]!;
    expect(failed.actual).toBe("SERVER_PORT \"{port}\" on {hostname}; - Broken pipe from ('127.0.0.1', {port})");
    expect(failed.evidence[0]!.label).toBe('ClientHello without LF ({TLS client settings})');
    expect(failed.evidence[0]!.sent.toString()).toBe('{a TLS ClientHello of 69 bytes}');
    expect(failed.evidence[0]!.received.toString('latin1')).toBe("HTTP/1.1 400 Bad Request\r\nDate: {date}\r\n\r\nBad request version {binary}\n");
    expect(failed.evidence[1]!.sent.toString()).toBe('GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n');
    expect(failed.evidence[1]!.received.toString()).toBe('{"REMOTE_PORT":"{port}","SERVER_NAME":"{hostname}"}');
    expect(stable.results.map((record) => [record.id, record.verdict, record.scored])).toEqual(raw.results.map((record) => [record.id, record.verdict, record.scored]));
  });

  it('keeps evidence only where a reader needs it, and no timing at all', () => {
    expect(stable.results[0]!.evidence).toEqual([]);
    expect(stable.results.map((record) => record.durationMs)).toEqual([0, 0]);
    expect(stable).toMatchObject({ started: '', finished: '', wallMs: 0, endpoint: { port: 0 }, target: 'alpha (alpha 1.0)' });
  });

  it('reads a written JSON report back as the report it was, which renders to the same text', () => {
    const report = reportOf(MIXED);
    const written = renderJson(report);
    expect(renderJson(reportFromJson(JSON.parse(written) as JsonReport, report.targetFlags))).toBe(written);
  });

  it('what a report means leaves out what was seen, but not verdicts, manifest entries or the requirement\'s words', () => {
    const seenOtherwise = { ...stable, results: stable.results.map((record) => ({ ...record, actual: `${record.actual}, then the server reset the connection`, evidence: [] })) };
    expect(reportMeaning(seenOtherwise)).toBe(reportMeaning(stable));
    const flipped = { ...stable, results: stable.results.map((record) => ({ ...record, verdict: 'pass' as const })) };
    expect(reportMeaning(flipped)).not.toBe(reportMeaning(stable));
    const expected = { ...stable, results: stable.results.map((record) => ({ ...record, expectation: { verdict: 'fail' as const, reason: 'known' } })) };
    expect(reportMeaning(expected)).not.toBe(reportMeaning(stable));
    const reworded = { ...stable, results: stable.results.map((record) => ({ ...record, expected: `${record.expected} or a 431` })) };
    expect(reportMeaning(reworded)).not.toBe(reportMeaning(stable));
    expect(reportMeaning({ ...stable, target: 'alpha (alpha 1.1)' })).not.toBe(reportMeaning(stable));
  });
});
