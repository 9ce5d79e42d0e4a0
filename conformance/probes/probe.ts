/**
 * The h1spec probe application in TypeScript, for the reference server's gateway interface. It is
 * conformance/probes/wsgi_probe.py line for line: for the same environ and body both answer byte for byte
 * the same (test/probes.test.ts proves it for every action).
 */
import type { Application, Environ, HeaderList, InputStream, ResponseBody } from '../../reference/gateway.ts';
import { HTTP_STATUS } from '../../reference/http-status.ts';
import {
  PROBE_CONTRACT,
  parseProbeActions,
  serialiseProbeReport,
  type EnvironValue,
  type ProbeReport,
} from './contract.ts';

const ACTION_ENVIRON_KEY = 'HTTP_X_PROBE_ACTION';

/** A declared length is read in pieces so a huge Content-Length never makes one huge read (see wsgi_probe.py). */
const READ_PIECE = 64 * 1024;

/** What the `raise` and `raise-after-headers` actions throw. */
export class ProbeRaised extends Error {
  override name = 'ProbeRaised';
}

interface Actions {
  noLength: boolean;
  readLimit: number | null;
  statusCode: number | null;
  raiseBeforeStart: boolean;
  raiseAfterHeaders: boolean;
}

/** The last `read:` and `status:` win, as in wsgi_probe.py. */
function actionsOf(headerValue: unknown): Actions {
  const actions: Actions = { noLength: false, readLimit: null, statusCode: null, raiseBeforeStart: false, raiseAfterHeaders: false };
  for (const action of parseProbeActions(typeof headerValue === 'string' ? headerValue : undefined)) {
    if (action.kind === 'no-length') actions.noLength = true;
    else if (action.kind === 'raise') actions.raiseBeforeStart = true;
    else if (action.kind === 'raise-after-headers') actions.raiseAfterHeaders = true;
    else if (action.kind === 'read') actions.readLimit = action.bytes;
    else actions.statusCode = action.code;
  }
  return actions;
}

function statusLine(code: number): string {
  return `${String(code).padStart(3, '0')} ${HTTP_STATUS.get(code)?.phrase ?? 'Unknown'}`;
}

function isReportable(value: unknown): value is EnvironValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return true;
  return Array.isArray(value) && value.every(isReportable);
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return (Object(value) as object).constructor?.name ?? 'Object';
}

async function readDeclaredLength(stream: InputStream, length: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let remaining = length;
  while (remaining > 0) {
    const piece = await stream.read(Math.min(remaining, READ_PIECE));
    if (piece.length === 0) break;
    pieces.push(piece);
    remaining -= piece.length;
  }
  return Buffer.concat(pieces);
}

/** Never waits on an input that has no end: without a usable length, read to the end only when the server says the input is terminated. */
async function readBody(environ: Environ, readLimit: number | null): Promise<Buffer> {
  const stream = environ['wsgi.input'] as InputStream;
  if (readLimit !== null) return stream.read(readLimit);
  const declared = environ['CONTENT_LENGTH'];
  if (typeof declared === 'string' && /^[0-9]+$/.test(declared)) return readDeclaredLength(stream, Number(declared));
  if (environ['wsgi.input_terminated']) return stream.read();
  return Buffer.alloc(0);
}

function reportBody(environ: Environ, body: Buffer): Buffer {
  const report: ProbeReport = { contract: PROBE_CONTRACT, environ: {}, objects: {}, body: { length: body.length, base64: body.toString('base64') } };
  for (const [key, value] of Object.entries(environ)) {
    if (isReportable(value)) report.environ[key] = value;
    else report.objects[key] = typeName(value);
  }
  return serialiseProbeReport(report);
}

/** Split where the environ begins, as wsgi_probe.py does: the first chunk depends only on the request body. */
function halves(body: Buffer): [Buffer, Buffer] {
  const middle = body.indexOf('"environ":');
  return [body.subarray(0, middle), body.subarray(middle)];
}

function* chunksThenRaise(firstChunk: Buffer): Generator<Buffer> {
  yield firstChunk;
  throw new ProbeRaised('h1spec probe: raise-after-headers requested');
}

function* chunks(pieces: Buffer[]): Generator<Buffer> {
  yield* pieces;
}

export const probeApplication: Application = async (environ, startResponse): Promise<ResponseBody> => {
  const actions = actionsOf(environ[ACTION_ENVIRON_KEY]);
  const body = reportBody(environ, await readBody(environ, actions.readLimit));
  if (actions.raiseBeforeStart) throw new ProbeRaised('h1spec probe: raise requested');
  const status = statusLine(actions.statusCode ?? 200);
  const headers: HeaderList = [['Content-Type', 'application/json']];
  if (actions.raiseAfterHeaders) {
    startResponse(status, headers);
    return chunksThenRaise(halves(body)[0]);
  }
  if (actions.noLength) {
    startResponse(status, headers);
    return chunks(halves(body));
  }
  headers.push(['Content-Length', String(body.length)]);
  startResponse(status, headers);
  return [body];
};
