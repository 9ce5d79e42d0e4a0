/**
 * LOG: what the server logs (the harness must own the target's output). Django's WSGIRequestHandler.log_message
 * writes through the `django.server` logger: `[time] "<request line>" <status> <size>` per request, `code N, message …`
 * before a server-generated error, the level by status; WSGIServer.handle_error logs a client's hang-up as
 * `- Broken pipe from <address>` with no traceback.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ParsedResponse } from '../wire/types.ts';
import {
  defineCheck,
  describeResponse,
  fail,
  Judgement,
  LOG_TIME,
  logLines,
  type LogLine,
  notApplicable,
  onlyResponse,
  requestFor,
  show,
  type Trial,
  uniquePath,
} from './check-kit.ts';
import { requestWithHeaderLines } from './hdr.ts';
import type { Requirement } from './types.ts';
import { MAX_REQUEST_LINE, requestWithLineOf } from './uri.ts';

/** How long the hanging-up client waits after its partial head, so the server is reading when the reset comes. */
const HANG_UP_PAUSE_MS = 100;
const LOG_MESSAGE = 'Django 3.2 django/core/servers/basehttp.py WSGIRequestHandler.log_message';

/** The index of the first line whose message is `message`, searching from `from`; -1 when none is. */
function lineIndex(lines: readonly LogLine[], message: string, from = 0): number {
  return lines.findIndex((line, i) => i >= from && line.message === message);
}

/** `first` is logged, then (later) `second`, each with Django's time format. */
function loggedInOrder(judgement: Judgement, lines: readonly LogLine[], first: string, second: string): void {
  const a = lineIndex(lines, first);
  const b = a >= 0 ? lineIndex(lines, second, a + 1) : -1;
  judgement.expect(a >= 0 && b > a, a < 0 ? `no line ${show(first)}` : b < 0 ? `${show(first)}, but no ${show(second)} after it` : `${show(first)}, then ${show(second)}`, `${show(first)}, then ${show(second)}`);
  for (const index of [a, b].filter((i) => i >= 0)) {
    const time = lines[index]!.time;
    judgement.expect(time !== null && LOG_TIME.test(time), `time ${show(time)}`, 'dd/Mon/yyyy hh:mm:ss');
  }
}

async function served(t: Trial, label: string, path: string, probeAction?: string): Promise<ParsedResponse> {
  const shape = probeAction === undefined ? {} : { probeAction };
  return onlyResponse(await t.exchange(label, requestFor(t.endpoint, path, shape), { methods: ['GET'] }), label);
}

const LEVEL_BY_STATUS: ReadonlyArray<readonly [number, string]> = [
  [200, 'INFO'],
  [302, 'INFO'],
  [404, 'WARNING'],
  [503, 'ERROR'],
];

export const logRequirements: Requirement[] = [
  {
    id: 'LOG-ACCESS',
    title: 'Each request logs one access line; a server-generated error logs "code N, message …" first',
    profiles: ['django'],
    level: 'SHOULD',
    source: `${LOG_MESSAGE}; CPython 3.11 http/server.py BaseHTTPRequestHandler.log_request, log_error, log_date_time_string`,
    needs: { log: true },
    check: defineCheck(
      'GET <path> logs exactly one `[dd/Mon/yyyy hh:mm:ss] "GET <path> HTTP/1.1" <status> <body size>`; a 414 logs `code 414, message Request-URI Too Long` then `"" 414 -`; a 431 logs `code 431, message Too many headers` then `"GET <path> HTTP/1.1" 431 -`',
      async (t) => {
        const path = uniquePath('log-access');
        const response = await served(t, `GET ${path}`, path);
        await t.exchange(`${MAX_REQUEST_LINE + 1}-byte request line`, requestWithLineOf(t.endpoint, MAX_REQUEST_LINE + 1), { methods: ['GET'] });
        const refusedPath = uniquePath('log-431');
        await t.exchange(`GET ${refusedPath} with 100 header lines`, requestWithHeaderLines(t.endpoint, 100, 'GET', refusedPath), { methods: ['GET'] });
        const lines = await logLines(t);
        const judgement = new Judgement();
        const access = `"GET ${path} HTTP/1.1" ${response.status} ${response.body.length}`;
        const matching = lines.filter((line) => line.message.includes(path));
        judgement.expect(
          matching.length === 1 && matching[0]!.message === access && LOG_TIME.test(matching[0]!.time ?? ''),
          `for GET ${path}: ${matching.length === 0 ? 'no line' : matching.map((line) => show(line.raw)).join(', ')}`,
          `one line [dd/Mon/yyyy hh:mm:ss] ${access}`,
        );
        loggedInOrder(judgement, lines, 'code 414, message Request-URI Too Long', '"" 414 -');
        loggedInOrder(judgement, lines, 'code 431, message Too many headers', `"GET ${refusedPath} HTTP/1.1" 431 -`);
        return judgement.outcome();
      },
    ),
  },
  {
    id: 'LOG-LEVELS',
    title: 'Access lines log at info, warning or error by status; a hang-up logs "Broken pipe" with no traceback',
    profiles: ['django'],
    level: 'SHOULD',
    source: `${LOG_MESSAGE}; Django 3.2 django/core/servers/basehttp.py WSGIServer.handle_error (is_broken_pipe_error)`,
    needs: { log: true, probe: true },
    check: defineCheck(
      'statuses 200 and 302 log at INFO, 404 at WARNING, 503 at ERROR; a client that resets the connection while the server reads its request logs `- Broken pipe from (<address>, <port>…)` (at INFO) and no traceback. Levels are judged where the log shows them (the reference with --log-format json); a log without levels cannot show this row',
      async (t) => {
        const requests = LEVEL_BY_STATUS.map(([status, level]) => ({ status, level, path: uniquePath(`log-${status}`) }));
        for (const { status, path } of requests) {
          const response = await served(t, `GET ${path} (status:${status})`, path, `status:${status}`);
          if (response.status !== status) return fail(`the probe was asked for ${status} and answered ${describeResponse(response)}`);
        }
        const client = await t.connectResettable('an unfinished request head, a pause, then a reset');
        await client.write(Buffer.from(`GET ${uniquePath('log-hang-up')} HTTP/1.1\r\nHost: h1spec\r\n`, 'latin1'));
        // The client gives up while the server waits for the rest of its head; a reset that lands before the server
        // has begun to read can surface as a plain end of stream instead (Node reports it so).
        await sleep(HANG_UP_PAUSE_MS);
        client.reset();
        const lines = await logLines(t);
        const judgement = new Judgement();
        const brokenPipe = lines.find((line) => line.message.startsWith('- Broken pipe from (') && new RegExp(`, ${client.localPort}[,)]`).test(line.message));
        judgement.expect(brokenPipe !== undefined, brokenPipe ? show(brokenPipe.message) : `no "- Broken pipe from" line for port ${client.localPort}`, 'a broken-pipe line');
        const traceback = lines.find((line) => line.raw.startsWith('Traceback'));
        judgement.expect(traceback === undefined, traceback ? 'a traceback was logged' : 'no traceback', 'no traceback');
        const levelled = requests.map(({ status, level, path }) => ({ what: `status ${status}`, level, line: lines.find((line) => line.message.includes(path)) }));
        levelled.push({ what: 'broken pipe', level: 'INFO', line: brokenPipe });
        if (levelled.every(({ line }) => line?.level === null) && judgement.outcome().verdict === 'pass') {
          return notApplicable(`the log shows no levels (Django's text format has none); seen: ${judgement.outcome().seen}`);
        }
        for (const { what, level, line } of levelled) {
          judgement.expect(line?.level === level, `${what} at ${line ? (line.level ?? 'no level') : '(no line)'}`, level);
        }
        return judgement.outcome();
      },
    ),
  },
];
