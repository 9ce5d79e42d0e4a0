/**
 * Sends one fuzz case over one connection and reads what comes back, deciding by framing and by the close, not by
 * waiting: responses are judged one by one as they complete (the first mismatch ends the case), a connection that
 * should have closed is asked with a liveness request (an answer means it stayed open), and a connection that should
 * stay open is proved so by a sentinel request pipelined behind the case, whose answer must come last.
 *
 * A server that swallows a request and keeps the connection open would leave the reader waiting: when no response
 * completes for a short while, a second sentinel goes out in a write of its own, and its answer arriving in the place
 * of an expected response is the evidence. Only when even that goes unanswered does the case end as inconclusive.
 */
import type { Evidence } from '../catalogue/types.ts';
import { Deadline, RawConnection } from '../wire/client.ts';
import type { CloseState, Endpoint, ParsedResponse, Segment } from '../wire/types.ts';

/** Requests the harness adds behind a case; their paths tell them apart in reports and logs. */
export const SENTINEL_PATH = '/h1spec-fuzz-sentinel';
export const STALL_PATH = '/h1spec-fuzz-stall';
export const SENTINEL_REQUEST = Buffer.from(`GET ${SENTINEL_PATH} HTTP/1.1\r\n\r\n`, 'latin1');
const STALL_REQUEST = Buffer.from(`GET ${STALL_PATH} HTTP/1.1\r\n\r\n`, 'latin1');
/** How long no response may complete before the stall sentinel goes out; it only costs time when a response is missing. */
const STALL_MS = 80;
/** A reused connection is given up after this many cases, so its byte log stays small. */
const MAX_CASES_PER_CONNECTION = 64;

/** Why a case did not pass, under the requirement ID it breaks. */
export interface Mismatch {
  id: string;
  expected: string;
  seen: string;
}

export interface Plan {
  segments: Segment[];
  halfClose: boolean;
  /** One per expected response: the method the response parser frames it by. */
  methods: string[];
  /**
   * After the expected responses: the server must close, or must keep the connection open (the last response is the
   * sentinel's), or either will do (nothing is checked).
   */
  end: 'close' | 'open' | 'any';
  /** The ID a wrong end counts against. */
  endId: string;
  /** Judges the index-th response as soon as it has come; null when it is as expected. */
  judge(index: number, response: ParsedResponse): Mismatch | null;
  /** Judges a response that never came (the connection ended first): null when that is acceptable, and reading stops. */
  missing(index: number): Mismatch | null;
}

export type Verdict = { kind: 'pass' } | { kind: 'fail'; mismatch: Mismatch } | { kind: 'error'; reason: string };

export interface DriveResult {
  verdict: Verdict;
  /** Requests answered, the harness's own sentinels and liveness requests included: the unit of fuzzing throughput. */
  exchanges: number;
  evidence: Evidence;
  responses: ParsedResponse[];
  close: CloseState;
  /**
   * The server reset a connection the case was written to in several writes: Node drops whatever answer had not been
   * read when a write meets the reset, so what is missing proves nothing.
   */
  resetWhileWriting(): boolean;
}

/**
 * Where a case gets its connection. Reusing an open connection at a request boundary is what keeps a campaign fast;
 * cases being shrunk or replayed always get a fresh one, so a finding never depends on what came before it.
 */
export class Lane {
  private idle: { connection: RawConnection; uses: number } | null = null;

  constructor(
    readonly endpoint: Endpoint,
    private readonly timeoutMs: number,
  ) {}

  async connect(reuse: boolean): Promise<{ connection: RawConnection; uses: number }> {
    const idle = this.idle;
    this.idle = null;
    if (idle && reuse) return idle;
    idle?.connection.destroy();
    return { connection: await RawConnection.open(this.endpoint, { timeoutMs: this.timeoutMs }), uses: 0 };
  }

  keep(connection: RawConnection, uses: number): void {
    this.idle?.connection.destroy();
    if (uses >= MAX_CASES_PER_CONNECTION) connection.destroy();
    else this.idle = { connection, uses };
  }

  close(): void {
    this.idle?.connection.destroy();
    this.idle = null;
  }
}

function settledEnd(close: CloseState): boolean {
  return close === 'eof' || close === 'reset';
}

/** Runs `plan` on a connection from `lane`; only failing to connect throws. */
export async function drive(lane: Lane, plan: Plan, options: { reuse: boolean; timeoutMs: number; label: string }): Promise<DriveResult> {
  const { connection, uses } = await lane.connect(options.reuse);
  const deadline = new Deadline(options.timeoutMs);
  const responses: ParsedResponse[] = [];
  let stallSent = false;
  let exchanges = 0;
  let verdict: Verdict = { kind: 'pass' };
  let close: CloseState = 'open';
  const resetWhileWriting = (): boolean => plan.segments.length > 1 && connection.conversation().close === 'reset';
  try {
    await connection.write(plan.segments, deadline);
    if (plan.halfClose) connection.endWrite();
    let methods: readonly string[] = plan.methods;
    for (let index = 0; index < plan.methods.length && verdict.kind === 'pass'; index++) {
      const response = await nextResponse();
      if (!response) {
        if (deadline.expired) verdict = { kind: 'error', reason: `inconclusive: no response ${index + 1} within ${options.timeoutMs} ms` };
        else if (resetWhileWriting()) verdict = { kind: 'error', reason: `inconclusive: the server reset the connection while the case was still being written (response ${index + 1} may have been lost)` };
        else {
          const mismatch = plan.missing(index);
          if (mismatch) verdict = { kind: 'fail', mismatch };
        }
        break;
      }
      responses.push(response);
      exchanges++;
      const mismatch = plan.judge(index, response);
      if (mismatch) verdict = { kind: 'fail', mismatch };
    }
    if (verdict.kind === 'pass') {
      if (plan.end === 'close') {
        close = await connection.isStillOpen(deadline);
        if (close === 'open') verdict = { kind: 'fail', mismatch: { id: plan.endId, expected: 'the connection closed after the last response', seen: 'it stayed open: a liveness request sent after it was answered' } };
        else if (close === 'timeout') verdict = { kind: 'error', reason: `inconclusive: neither a close nor an answer to a liveness request within ${options.timeoutMs} ms` };
      }
    } else {
      close = connection.conversation().close;
    }
    return { verdict, exchanges, evidence: evidence(), responses, close, resetWhileWriting };

    /** The next response, complete or cut short by the end of the connection; null when none came in time. */
    async function nextResponse(): Promise<ParsedResponse | null> {
      for (;;) {
        // One write at most: a second write meeting a server that closed meanwhile would draw the reset that makes
        // Node drop the answer in flight (a first write only makes the server's close a reset, after its answer).
        const mayStall = !stallSent && !plan.halfClose;
        const stall = mayStall ? new Deadline(Math.min(STALL_MS, options.timeoutMs)) : deadline;
        const got = await connection.readResponses(methods, 1, stall);
        methods = [];
        if (stall !== deadline) stall.cancel();
        const response = got[0];
        if (response && (response.complete || !stall.expired)) return response;
        const ended = settledEnd(connection.conversation().close);
        if (ended) return response ?? null;
        if (deadline.expired || !mayStall) return null;
        stallSent = true;
        await connection.write(STALL_REQUEST, deadline);
        methods = ['GET'];
      }
    }

    /** A fresh connection's whole record; on a reused one (only ever a passing case) what this case wrote and read, without copying the history. */
    function evidence(): Evidence {
      if (uses === 0) {
        const record = connection.conversation();
        return { label: options.label, sent: record.sent, received: record.received, close };
      }
      const sent = Buffer.concat([...plan.segments.map((s) => s.bytes), ...(stallSent ? [STALL_REQUEST] : [])]);
      return { label: options.label, sent, received: Buffer.concat(responses.map((r) => r.raw)), close };
    }
  } finally {
    deadline.cancel();
    const reusable = verdict.kind === 'pass' && plan.end === 'open' && !plan.halfClose && !stallSent;
    if (reusable) lane.keep(connection, uses + 1);
    else connection.destroy();
  }
}
