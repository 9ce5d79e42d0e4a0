/**
 * The fuzz properties: what must hold for every generated case, each tied to the catalogue IDs it covers. A property
 * has an arbitrary per profile and a check that sends one case and judges what came back (judges.ts); fast-check
 * drives generation and shrinking around it (engine.ts).
 */
import type fc from 'fast-check';
import type { Evidence, Profile } from '../catalogue/types.ts';
import { exchange } from '../wire/client.ts';
import {
  garbageCase,
  limitCaseArbitrary,
  malformedCase,
  pipelineCase,
  requestBatchCase,
  rfcMalformedCase,
  singleRequestCase,
  tlsHelloCase,
  type HelloTemplate,
} from './arbitraries.ts';
import type { WireCase } from './cases.ts';
import { helloTemplates } from './client-hellos.ts';
import { drive, type Lane, type Mismatch, type Plan, type Verdict } from './drive.ts';
import { djangoPlan, djangoSafeSplits, firstDifference, observables, observePlan, rfcPipelinePlan, rfcRequestLinePlan, wsgiEnvironPlan, type TargetFacts } from './judges.ts';

export interface CaseContext {
  facts: TargetFacts;
  profile: Profile;
  lane: Lane;
  /** The case may run on a connection an earlier case left open. */
  reuse: boolean;
  timeoutMs: number;
}

export interface CaseOutcome {
  verdict: Verdict;
  exchanges: number;
  evidence: Evidence[];
}

/** What a property's arbitraries may need that takes a moment to make (real TLS ClientHellos). */
export interface Setup {
  helloTemplates: HelloTemplate[];
}

export interface FuzzProperty {
  name: string;
  title: string;
  /** The catalogue IDs this property covers. */
  ids: string[];
  profiles: Profile[];
  /** The profiles under which the property needs the probe application on the target. */
  probeFor: Profile[];
  /** Relative share of a campaign's runs. */
  weight: number;
  /** Whether a case may start on a connection an earlier case left open at a request boundary. */
  reusesConnections: boolean;
  arbitrary(profile: Profile, setup: Setup): fc.Arbitrary<WireCase>;
  check(wireCase: WireCase, ctx: CaseContext): Promise<CaseOutcome>;
}

async function runPlan(plan: Plan, ctx: CaseContext, label: string): Promise<CaseOutcome> {
  const result = await drive(ctx.lane, plan, { reuse: ctx.reuse, timeoutMs: ctx.timeoutMs, label });
  return { verdict: result.verdict, exchanges: result.exchanges, evidence: [result.evidence] };
}

/** A property judged by a plan per profile. */
function planned(plans: Partial<Record<Profile, (wireCase: WireCase, facts: TargetFacts) => Plan>>) {
  return (wireCase: WireCase, ctx: CaseContext): Promise<CaseOutcome> => {
    const plan = plans[ctx.profile];
    if (!plan) throw new Error(`no plan for profile ${ctx.profile}`);
    return runPlan(plan(wireCase, ctx.facts), ctx, 'the case');
  };
}

const fail = (mismatch: Mismatch): Verdict => ({ kind: 'fail', mismatch });

const ENV_IDS = [
  'ENV-GATEWAY-INTERFACE',
  'ENV-SERVER-NAME',
  'ENV-SERVER-PORT',
  'ENV-SCRIPT-NAME',
  'ENV-REMOTE-ADDR',
  'ENV-REMOTE-HOST',
  'ENV-CONTENT-LENGTH',
  'ENV-CONTENT-TYPE',
  'ENV-REQUEST-METHOD',
  'ENV-PATH-INFO',
  'ENV-QUERY-STRING',
  'ENV-SERVER-PROTOCOL',
  'ENV-HTTP-VARS',
  'ENV-WSGI-VARS',
  'ENV-SERVER-SOFTWARE',
  'ENV-BODY',
  'HDR-UNDERSCORE-STRIP',
];

const flavourOf = (profile: Profile) => (profile === 'django' ? 'django' : 'sane');

export const PROPERTIES: readonly FuzzProperty[] = [
  {
    name: 'environ',
    title: 'for any request, the environ the probe reports is the mapping SPEC defines, underscore headers absent',
    ids: ENV_IDS,
    profiles: ['django', 'wsgi'],
    probeFor: ['django', 'wsgi'],
    weight: 4,
    reusesConnections: true,
    // The wsgi judge reads one answer per case: other servers may close where Django would not.
    arbitrary: (profile) => (profile === 'django' ? requestBatchCase('django') : singleRequestCase('sane')),
    check: planned({ django: djangoPlan, wsgi: wsgiEnvironPlan }),
  },
  {
    name: 'keep-alive',
    title: 'for any sequence of requests on one connection, one complete response per request, in order, and the close exactly where the rules say',
    ids: [
      'KA-PIPELINE',
      'KA-HTTP11-PERSIST',
      'KA-CONNECTION-CLOSE',
      'KA-HTTP10-CLOSE',
      'KA-HTTP10-KEEPALIVE',
      'KA-NO-LENGTH-CLOSE',
      'KA-SERIAL-CLOSE',
      'KA-UNREAD-BODY',
      'KA-CHUNKED-IGNORED',
      'EXP-100-CONTINUE',
      'ERR-APP-EXCEPTION',
      'ERR-APP-EXCEPTION-LATE',
    ],
    profiles: ['django', 'rfc'],
    probeFor: ['django'],
    weight: 4,
    reusesConnections: true,
    arbitrary: (profile) => pipelineCase(flavourOf(profile)),
    check: planned({ django: djangoPlan, rfc: rfcPipelinePlan }),
  },
  {
    name: 'limits',
    title: 'around every limit, the status and close behaviour SPEC gives',
    ids: ['URI-414', 'URI-LIMIT-EXACT', 'HDR-LINE-LIMIT', 'HDR-COUNT-LIMIT', 'ERR-FORMAT', 'ERR-HEAD-NO-BODY', 'KA-ERROR-CLOSE'],
    profiles: ['django'],
    probeFor: ['django'],
    weight: 1,
    reusesConnections: true,
    arbitrary: () => limitCaseArbitrary,
    check: planned({ django: djangoPlan }),
  },
  {
    name: 'request-line',
    title: 'for any request line, however malformed (bad versions, word counts, control bytes, bare CR/LF, HTTP/2 preface, PROXY headers), the answer SPEC gives',
    ids: ['RL-VERSION-SYNTAX', 'RL-WORD-COUNT', 'RL-VERSION-2', 'RL-HTTP09', 'RL-HTTP09-METHOD', 'KA-EMPTY-LINE', 'KA-ERROR-CLOSE', 'RFC-RL-ERROR-STATUS'],
    profiles: ['django', 'rfc'],
    probeFor: ['django'],
    weight: 2,
    reusesConnections: true,
    arbitrary: (profile) => (profile === 'django' ? malformedCase : rfcMalformedCase),
    check: planned({ django: djangoPlan, rfc: rfcRequestLinePlan }),
  },
  {
    name: 'tls',
    title: "for any real TLS ClientHello (Node's TLS client: versions, ALPN, SNI, ciphers), a bare 400 error page, then the close",
    ids: ['TLS-CLIENTHELLO-400'],
    profiles: ['django'],
    probeFor: ['django'],
    weight: 1,
    reusesConnections: false,
    arbitrary: (_profile, setup) => tlsHelloCase(setup.helloTemplates),
    check: planned({ django: djangoPlan }),
  },
  {
    name: 'split-invariance',
    title: 'for any split of the same bytes into writes, the same answer',
    ids: ['KA-PIPELINE'],
    profiles: ['django', 'wsgi', 'rfc'],
    probeFor: [],
    weight: 1,
    reusesConnections: false,
    arbitrary: (profile) => pipelineCase(flavourOf(profile)).map((c) => ({ ...c, splits: c.splits.length > 0 ? c.splits : [0] })),
    check: async (wireCase, ctx) => {
      const whole = await drive(ctx.lane, observePlan({ ...wireCase, splits: [] }), { reuse: false, timeoutMs: ctx.timeoutMs, label: 'in one write' });
      // For a django-profile target the model knows where it stops reading, and no write need meet a closed socket.
      const splitCase = ctx.profile === 'django' ? djangoSafeSplits(wireCase, ctx.facts) : wireCase;
      const split = await drive(ctx.lane, observePlan(splitCase), { reuse: false, timeoutMs: ctx.timeoutMs, label: 'split into writes' });
      const evidence = [whole.evidence, split.evidence];
      const exchanges = whole.exchanges + split.exchanges;
      for (const run of [whole, split]) if (run.verdict.kind === 'error') return { verdict: run.verdict, exchanges, evidence };
      if (split.resetWhileWriting()) return { verdict: { kind: 'error', reason: 'inconclusive: the server reset the connection while the split case was still being written' }, exchanges, evidence };
      const difference = firstDifference('KA-PIPELINE', observables(whole.responses, whole.close), observables(split.responses, split.close), ['in one write', 'split into writes']);
      return { verdict: difference ? fail({ ...difference, id: 'KA-PIPELINE' }) : { kind: 'pass' }, exchanges, evidence };
    },
  },
  {
    name: 'alive',
    title: 'after any input at all, the target still serves a new connection',
    ids: ['KA-ERROR-CLOSE'],
    profiles: ['django', 'wsgi', 'rfc'],
    probeFor: [],
    weight: 1,
    reusesConnections: false,
    arbitrary: () => garbageCase,
    check: async (wireCase, ctx) => {
      const garbage = await drive(ctx.lane, observePlan(wireCase), { reuse: false, timeoutMs: ctx.timeoutMs, label: 'the input' });
      const liveness = await askAlive(ctx);
      const evidence = [garbage.evidence, ...(liveness.evidence ? [liveness.evidence] : [])];
      // A GET that only ran out of time proves no death (LESSONS: a timeout decides nothing framing could).
      const verdict: Verdict = liveness.alive
        ? { kind: 'pass' }
        : liveness.timedOut
          ? { kind: 'error', reason: `inconclusive: ${liveness.detail}` }
          : fail({ id: 'KA-ERROR-CLOSE', expected: 'a new connection served after the input', seen: liveness.detail });
      return { verdict, exchanges: garbage.exchanges + (liveness.alive ? 1 : 0), evidence };
    },
  },
];

const LIVENESS = Buffer.from('GET /h1spec-fuzz-alive HTTP/1.1\r\nConnection: close\r\n\r\n', 'latin1');

/** A plain GET on a new connection: answered means alive. `timedOut`: it failed only by running out of time. */
export async function askAlive(ctx: { facts: TargetFacts; timeoutMs: number }): Promise<{ alive: boolean; timedOut: boolean; detail: string; evidence?: Evidence }> {
  try {
    const conversation = await exchange(ctx.facts.endpoint, LIVENESS, { methods: ['GET'], timeoutMs: ctx.timeoutMs, after: 'none' });
    const evidence: Evidence = { label: 'a new connection after it', sent: conversation.sent, received: conversation.received, close: conversation.close };
    if (conversation.responses[0]) return { alive: true, timedOut: false, detail: 'answered', evidence };
    return { alive: false, timedOut: conversation.close === 'timeout', detail: `a GET on a new connection got no answer (connection ${conversation.close})`, evidence };
  } catch (err) {
    return { alive: false, timedOut: (err as NodeJS.ErrnoException).code === 'ETIMEDOUT', detail: `a new connection failed: ${(err as Error).message}` };
  }
}

export function propertyNamed(name: string): FuzzProperty | undefined {
  return PROPERTIES.find((p) => p.name === name);
}

/** The properties a profile and a target can run: applicable to the profile, and with the probe where they need it. */
export function applicableProperties(profile: Profile, probe: boolean, names: readonly string[] = []): FuzzProperty[] {
  return PROPERTIES.filter((p) => p.profiles.includes(profile) && (names.length === 0 || names.includes(p.name)) && (probe || !p.probeFor.includes(profile)));
}

let setup: Promise<Setup> | null = null;

/** What the arbitraries need, made once per process; only the TLS property needs anything. */
export function prepareSetup(properties: readonly FuzzProperty[]): Promise<Setup> {
  if (!properties.some((p) => p.name === 'tls')) return Promise.resolve({ helloTemplates: [] });
  setup ??= helloTemplates().then((templates) => ({ helloTemplates: templates }));
  return setup;
}
