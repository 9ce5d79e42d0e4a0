/**
 * The fidelity suite (issue 2): the same raw bytes go to real Django 3.2 runserver serving the Python probe and
 * to the reference serving the TypeScript probe, in both server modes; what comes back — status line or bare
 * body, header names, order and values, the environ the probe reports, the body, where the connection closed,
 * and the log lines — must be the same once the Date, the Python version and the port are set aside.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseProbeReport } from '../conformance/probes/contract.ts';
import { startEmbeddedReference } from '../conformance/targets/embedded.ts';
import { peerMissing, peerNamed, spawnPeer } from '../conformance/targets/peers.ts';
import type { RunningTarget } from '../conformance/targets/types.ts';
import { exchange } from '../conformance/wire/client.ts';
import { parseResponses } from '../conformance/wire/response-parser.ts';
import type { ParsedResponse } from '../conformance/wire/types.ts';
import { FIDELITY_CASES, type FidelityCase } from './support/fidelity-cases.ts';
import { tlsFidelityCases } from './support/fidelity-tls.ts';

/** The environ keys a server derives from the request and its own set-up; the rest is the process environment, which differs. */
const REQUEST_KEYS = /^(HTTP_|wsgi\.)|^(SERVER_NAME|GATEWAY_INTERFACE|SERVER_PORT|REMOTE_HOST|CONTENT_LENGTH|SCRIPT_NAME|SERVER_PROTOCOL|SERVER_SOFTWARE|REQUEST_METHOD|PATH_INFO|QUERY_STRING|REMOTE_ADDR|CONTENT_TYPE)$/;
const EXCHANGE_TIMEOUT_MS = 10_000;

function normaliseBody(body: Buffer): unknown {
  const report = parseProbeReport(body);
  if (!report) return body.toString('latin1');
  const environ = Object.fromEntries(
    Object.entries(report.environ)
      .filter(([key]) => REQUEST_KEYS.test(key))
      .map(([key, value]) => [key, key === 'SERVER_PORT' ? '<port>' : value]),
  );
  return { probe: report.contract, environ, objects: Object.keys(report.objects).sort(), body: report.body };
}

/** The probe's report holds the process environment, whose size differs between the two servers: its lengths are set aside. */
function isProbeResponse(response: ParsedResponse): boolean {
  return parseProbeReport(response.body) !== null || response.headers.some(([name, value]) => name.toLowerCase() === 'content-type' && value === 'application/json');
}

function normaliseResponses(responses: ParsedResponse[]) {
  return responses.map((response) => {
    const body = normaliseBody(response.body);
    const isProbeReport = isProbeResponse(response);
    return {
      kind: response.kind,
      statusLine: response.kind === 'status' ? `${response.version} ${response.status} ${response.reason}` : null,
      interim: response.interim.map((r) => `${r.version} ${r.status} ${r.reason}`),
      headers: response.headers.map(([name, value]) => {
        const lower = name.toLowerCase();
        if (lower === 'date') return [name, '<date>'];
        if (lower === 'server') return [name, value.replace(/Python\/[\d.]+/, 'Python/<version>')];
        if (lower === 'content-length' && isProbeReport) return [name, '<probe report length>'];
        return [name, value];
      }),
      body,
      complete: response.complete,
    };
  });
}

/** Logger records only (tracebacks are Python's on one side and Node's on the other), with probe report sizes set aside. */
function normaliseLog(lines: string[], probeReportSizes: Set<string>): string[] {
  return lines
    .filter((line) => /^\[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] /.test(line))
    .map((line) => line.slice(line.indexOf('] ') + 2).replace(/ (\d+)$/, (whole, size: string) => (probeReportSizes.has(size) ? ' <probe report length>' : whole)));
}

async function observe(target: RunningTarget, fidelityCase: FidelityCase) {
  const window = target.log!.window();
  const methods = fidelityCase.methods ?? ['GET', 'GET', 'GET'];
  // Half-closing ends the keep-alive loop once the server has read everything, so every case ends by itself.
  const conversation = await exchange(target.endpoint, fidelityCase.bytes, { methods, timeoutMs: EXCHANGE_TIMEOUT_MS, halfClose: true, after: 'close' });
  const responses = parseResponses(conversation.received, methods, true).responses;
  const probeReportSizes = new Set(
    responses.filter(isProbeResponse).flatMap((r) => [String(r.body.length), ...r.headers.filter(([n]) => n.toLowerCase() === 'content-length').map(([, v]) => v)]),
  );
  return {
    responses: normaliseResponses(responses),
    closed: conversation.close === 'eof' || conversation.close === 'reset' ? 'closed' : conversation.close,
    log: normaliseLog(await window.lines(), probeReportSizes),
  };
}

const cases = [...FIDELITY_CASES, ...(await tlsFidelityCases())];
const django = peerNamed('django')!;
const djangoMissing = peerMissing(django);

describe.each([
  { mode: 'threaded' as const, peer: 'django' },
  { mode: 'serial' as const, peer: 'django-nothreading' },
])('fidelity with real Django runserver ($peer)', ({ mode, peer }) => {
  let real: RunningTarget;
  let reference: RunningTarget;

  beforeAll(async () => {
    if (djangoMissing) return;
    [real, reference] = await Promise.all([spawnPeer(peerNamed(peer)!), startEmbeddedReference({ mode, logFormat: 'django' })]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([real?.stop(), reference?.stop()]);
  });

  test('covers at least 60 distinct raw requests and every D row of SPEC', () => {
    expect(new Set(cases.map((c) => c.bytes.toString('latin1'))).size).toBeGreaterThanOrEqual(60);
  });

  for (const fidelityCase of cases.filter((c) => !c.mode || c.mode === mode)) {
    test.skipIf(djangoMissing !== null)(`${fidelityCase.name} [${fidelityCase.ids.join(' ')}]${djangoMissing ? ` — skipped: ${djangoMissing}` : ''}`, async () => {
      const [fromDjango, fromReference] = [await observe(real, fidelityCase), await observe(reference, fidelityCase)];
      expect(fromReference).toEqual(fromDjango);
    });
  }
});
