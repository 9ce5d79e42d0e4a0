import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Environ, InputStream, StartResponse } from '../reference/gateway.ts';
import { parseProbeReport } from '../conformance/probes/contract.ts';
import { probeApplication } from '../conformance/probes/probe.ts';

/** What a server would have seen of one call of a probe. `status` stays null when it raised before start_response. */
interface Outcome {
  status: string | null;
  headers: Array<[string, string]> | null;
  chunks: string[];
  raised: boolean;
  /** The size asked for by each wsgi.input read (null: read to the end). */
  reads: Array<number | null>;
}

interface EnvironCase {
  name: string;
  environ: Record<string, unknown>;
  body: Buffer;
  /** What the probe reads without a `read:` action, and the read calls it makes for it. */
  readByDefault: Buffer;
  readCallsByDefault: Array<number | null>;
}

const DRIVER = fileURLToPath(new URL('./support/run_wsgi_probe.py', import.meta.url));

// Same class names as the driver's, so the `objects` part of both reports agrees.
class LimitedStream implements InputStream {
  private offset = 0;
  readonly reads: Array<number | null> = [];
  constructor(private readonly data: Buffer) {}
  async read(size?: number): Promise<Buffer> {
    this.reads.push(size ?? null);
    const end = size === undefined ? this.data.length : Math.min(this.data.length, this.offset + size);
    const result = this.data.subarray(this.offset, end);
    this.offset = end;
    return result;
  }
  async readline(size?: number): Promise<Buffer> {
    const newline = this.data.indexOf(0x0a, this.offset);
    const lineEnd = newline === -1 ? this.data.length : newline + 1;
    const end = Math.min(lineEnd, this.offset + (size ?? Infinity));
    const line = this.data.subarray(this.offset, end);
    this.offset = end;
    return line;
  }
}

class ErrorStream {
  write(): void {}
  flush(): void {}
}

const bytesOf = (text: string): Buffer => Buffer.from(text, 'latin1');
const largeBody = Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

const baseEnviron = {
  GATEWAY_INTERFACE: 'CGI/1.1',
  SERVER_NAME: 'localhost',
  SERVER_PORT: '8000',
  SERVER_PROTOCOL: 'HTTP/1.1',
  REQUEST_METHOD: 'GET',
  PATH_INFO: '/',
  QUERY_STRING: '',
  SCRIPT_NAME: '',
  CONTENT_LENGTH: '',
  CONTENT_TYPE: 'text/plain',
  'wsgi.version': [1, 0],
  'wsgi.url_scheme': 'http',
  'wsgi.multithread': true,
  'wsgi.multiprocess': false,
  'wsgi.run_once': false,
};

const environCases: EnvironCase[] = [
  { name: 'GET, empty body', environ: baseEnviron, body: Buffer.alloc(0), readByDefault: Buffer.alloc(0), readCallsByDefault: [] },
  {
    name: 'POST, latin-1 and control characters in values',
    environ: {
      ...baseEnviron,
      REQUEST_METHOD: 'POST',
      CONTENT_LENGTH: '11',
      PATH_INFO: '/cafÃ©/a b//\x00\x7f',
      HTTP_X_NAME: 'ÿ\xa0é "quoted" \\ back',
      HTTP_X_CONTROL: '\t\x01\x1f\r\n  folded',
    },
    body: bytesOf('hello world'),
    readByDefault: bytesOf('hello world'),
    readCallsByDefault: [11],
  },
  {
    name: 'body larger than any read:N and than one read piece',
    environ: { ...baseEnviron, REQUEST_METHOD: 'PUT', CONTENT_LENGTH: String(largeBody.length) },
    body: largeBody,
    readByDefault: largeBody,
    readCallsByDefault: [65_536, 65_536, 18_928],
  },
  {
    name: 'unusable Content-Length: nothing read',
    environ: { ...baseEnviron, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '+5' },
    body: bytesOf('abcde'),
    readByDefault: Buffer.alloc(0),
    readCallsByDefault: [],
  },
  {
    name: 'no Content-Length, input terminated: read to the end',
    environ: { ...baseEnviron, REQUEST_METHOD: 'POST', 'wsgi.input_terminated': true },
    body: bytesOf('chunked body'),
    readByDefault: bytesOf('chunked body'),
    readCallsByDefault: [null],
  },
  {
    name: 'Content-Length beyond the input: read until an empty read',
    environ: { ...baseEnviron, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '20' },
    body: bytesOf('short'),
    readByDefault: bytesOf('short'),
    readCallsByDefault: [20, 15],
  },
  {
    name: 'beyond latin-1, numbers, nested tuples',
    environ: {
      ...baseEnviron,
      HTTP_X_EMOJI: '\u{1f600} \u20ac',
      HTTP_X_LONE_SURROGATE: '\udcff',
      'HTTP_X_É': 'key above ASCII',
      'h1spec.integer': 42,
      'h1spec.float': 1.5,
      'h1spec.nested': [[1, 'a'], [true, false], []],
    },
    body: Buffer.alloc(0),
    readByDefault: Buffer.alloc(0),
    readCallsByDefault: [],
  },
];

/** How an action, as the probe's header value, must change the answer. */
interface ActionCase {
  header: string;
  expect: 'default' | 'no-length' | 'raise' | 'raise-after-headers';
  status: string;
  readLimit?: number;
}

const actionCases: ActionCase[] = [
  { header: '', expect: 'default', status: '200 OK' },
  { header: 'no-length', expect: 'no-length', status: '200 OK' },
  { header: 'read:0', expect: 'default', status: '200 OK', readLimit: 0 },
  { header: 'read:3', expect: 'default', status: '200 OK', readLimit: 3 },
  { header: 'read:100000', expect: 'default', status: '200 OK', readLimit: 100_000 },
  { header: 'read:1,read:4', expect: 'default', status: '200 OK', readLimit: 4 },
  { header: 'status:404', expect: 'default', status: '404 Not Found' },
  { header: 'status:418', expect: 'default', status: "418 I'm a Teapot" },
  { header: 'status:599', expect: 'default', status: '599 Unknown' },
  { header: 'status:000', expect: 'default', status: '000 Unknown' },
  { header: 'status:2000', expect: 'default', status: '200 OK' },
  { header: 'bogus, status:500 ', expect: 'default', status: '500 Internal Server Error' },
  { header: ' read:2 ,\xa0status:201\xa0,no-length', expect: 'no-length', status: '201 Created', readLimit: 2 },
  { header: '\x1fno-length', expect: 'default', status: '200 OK' },
  { header: 'raise', expect: 'raise', status: '' },
  { header: 'read:0,raise', expect: 'raise', status: '', readLimit: 0 },
  { header: 'raise-after-headers', expect: 'raise-after-headers', status: '200 OK' },
  { header: 'status:503,raise-after-headers,no-length', expect: 'raise-after-headers', status: '503 Service Unavailable' },
];

interface Case {
  environ: Record<string, unknown>;
  body: Buffer;
}

const caseOf = (environCase: EnvironCase, action: ActionCase): Case => ({
  environ: action.header === '' ? environCase.environ : { ...environCase.environ, HTTP_X_PROBE_ACTION: action.header },
  body: environCase.body,
});

async function runTypeScriptProbe({ environ, body }: Case): Promise<Outcome> {
  const input = new LimitedStream(body);
  const outcome: Outcome = { status: null, headers: null, chunks: [], raised: false, reads: input.reads };
  const startResponse: StartResponse = (status, headers) => {
    outcome.status = status;
    outcome.headers = headers.map(([name, value]) => [name, value]);
    return async () => {};
  };
  const fullEnviron: Environ = { ...environ, 'wsgi.input': input, 'wsgi.errors': new ErrorStream() };
  try {
    const result = await probeApplication(fullEnviron, startResponse);
    try {
      for await (const chunk of result) outcome.chunks.push(chunk.toString('base64'));
    } finally {
      await result.close?.();
    }
  } catch {
    outcome.raised = true;
  }
  return outcome;
}

function runPythonProbe(cases: Case[]): Outcome[] {
  const input = cases.map(({ environ, body }) => JSON.stringify({ environ, body: body.toString('base64') }) + '\n').join('');
  const run = spawnSync('/usr/bin/python3', [DRIVER], { input, maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  if (run.status !== 0) throw new Error(`the Python probe driver failed (${run.status ?? run.signal}): ${run.stderr.toString()}`);
  const lines = run.stdout.toString('utf8').split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(cases.length);
  return lines.map((line) => JSON.parse(line) as Outcome);
}

const allCases = environCases.flatMap((environCase) => actionCases.map((action) => ({ environCase, action })));
let pythonOutcomes: Map<string, Outcome>;
const keyOf = (environCase: EnvironCase, action: ActionCase): string => `${environCase.name} / ${JSON.stringify(action.header)}`;

beforeAll(() => {
  const outcomes = runPythonProbe(allCases.map(({ environCase, action }) => caseOf(environCase, action)));
  pythonOutcomes = new Map(allCases.map(({ environCase, action }, i) => [keyOf(environCase, action), outcomes[i]!]));
}, 60_000);

describe.each(environCases)('probe parity: $name', (environCase) => {
  test.each(actionCases)('X-Probe-Action $header', async (action) => {
    const typeScript = await runTypeScriptProbe(caseOf(environCase, action));
    expect(typeScript).toEqual(pythonOutcomes.get(keyOf(environCase, action)));

    const readCalls = action.readLimit === undefined ? environCase.readCallsByDefault : [action.readLimit];
    expect(typeScript.reads).toEqual(readCalls);
    if (action.expect === 'raise') {
      expect(typeScript).toEqual({ status: null, headers: null, chunks: [], raised: true, reads: readCalls });
      return;
    }
    expect(typeScript.status).toBe(action.status);
    const body = Buffer.concat(typeScript.chunks.map((chunk) => Buffer.from(chunk, 'base64')));
    if (action.expect === 'raise-after-headers') {
      expect(typeScript.raised).toBe(true);
      expect(typeScript.headers).toEqual([['Content-Type', 'application/json']]);
      expect(typeScript.chunks).toHaveLength(1);
      expect(body.length).toBeGreaterThan(0);
      return;
    }
    expect(typeScript.raised).toBe(false);
    if (action.expect === 'no-length') {
      expect(typeScript.headers).toEqual([['Content-Type', 'application/json']]);
      expect(typeScript.chunks.length).toBeGreaterThanOrEqual(2);
    } else {
      expect(typeScript.headers).toEqual([
        ['Content-Type', 'application/json'],
        ['Content-Length', String(body.length)],
      ]);
      expect(typeScript.chunks).toHaveLength(1);
    }

    const report = parseProbeReport(body);
    expect(report).not.toBeNull();
    const read = action.readLimit === undefined ? environCase.readByDefault : environCase.body.subarray(0, action.readLimit);
    expect(report!.body).toEqual({ length: read.length, base64: read.toString('base64') });
    expect(report!.environ).toEqual(caseOf(environCase, action).environ);
    expect(report!.objects).toEqual({ 'wsgi.input': 'LimitedStream', 'wsgi.errors': 'ErrorStream' });
  });
});

test('a report is printable ASCII, keys sorted by code point, characters above ~ escaped', async () => {
  const outcome = await runTypeScriptProbe({ environ: { b: 'é\x7f', a: '\u{1f600}', B: 1 }, body: Buffer.alloc(0) });
  const body = Buffer.from(outcome.chunks[0]!, 'base64').toString('latin1');
  expect(body).toMatch(/^[\x20-\x7e]*$/);
  expect(body).toContain('"environ":{"B":1,"a":"\\ud83d\\ude00","b":"\\u00e9\\u007f"}');
});
