/**
 * A last pass after fast-check's shrinking, on the structure of the case itself. fast-check shrinks each arbitrary
 * on its own terms and can stop in a local minimum (two requests where one fails alike, a header name `_a` where `_`
 * fails alike); this pass tries the reductions a person would, one at a time, keeping each that still fails the same
 * way: fewer writes, fewer requests, fewer headers, shorter names, empty values, the plainest request line, no body,
 * fewer raw bytes. Greedy and deterministic, and bounded by its own budget of checks.
 */
import type { Part, RequestSpec, WireCase } from './cases.ts';

const PLAIN: Pick<RequestSpec, 'method' | 'target' | 'version'> = { method: 'GET', target: '/', version: 'HTTP/1.1' };

const withPart = (wireCase: WireCase, index: number, part: Part): WireCase => ({ ...wireCase, parts: wireCase.parts.map((p, i) => (i === index ? part : p)) });
const withRequest = (wireCase: WireCase, index: number, spec: RequestSpec): WireCase => withPart(wireCase, index, { request: spec });

function* requestReductions(wireCase: WireCase, index: number, spec: RequestSpec): Generator<WireCase> {
  for (let h = 0; h < spec.headers.length; h++) yield withRequest(wireCase, index, { ...spec, headers: spec.headers.filter((_, i) => i !== h) });
  for (const key of ['method', 'target', 'version'] as const) {
    if (spec[key] !== PLAIN[key] && spec.version !== '') yield withRequest(wireCase, index, { ...spec, [key]: PLAIN[key] });
  }
  if (spec.body !== '') yield withRequest(wireCase, index, { ...spec, body: '' });
  for (let h = 0; h < spec.headers.length; h++) {
    const [name, value] = spec.headers[h]!;
    const replace = (field: [string, string]): WireCase => withRequest(wireCase, index, { ...spec, headers: spec.headers.map((f, i) => (i === h ? field : f)) });
    if (value !== '') yield replace([name, '']);
    for (let c = 0; c < name.length && name.length > 1; c++) yield replace([name.slice(0, c) + name.slice(c + 1), value]);
  }
}

/** Raw parts this short also try each byte as `a`, so the same failure found twice ends in the same bytes. */
const CANONICAL_RAW_MAX = 8;

/** Halves, quarters, … of a raw part taken out, largest first; then, for a short one, each byte made plain. */
function* rawReductions(wireCase: WireCase, index: number, raw: string): Generator<WireCase> {
  for (let size = raw.length >> 1; size >= 1; size >>= 1) {
    for (let at = 0; at + size <= raw.length; at += size) yield withPart(wireCase, index, { raw: raw.slice(0, at) + raw.slice(at + size) });
  }
  if (raw.length > CANONICAL_RAW_MAX) return;
  for (let at = 0; at < raw.length; at++) if (raw[at] !== 'a') yield withPart(wireCase, index, { raw: `${raw.slice(0, at)}a${raw.slice(at + 1)}` });
}

function* reductions(wireCase: WireCase): Generator<WireCase> {
  if (wireCase.splits.length > 0) yield { ...wireCase, splits: [] };
  for (let i = 0; i < wireCase.parts.length && wireCase.parts.length > 1; i++) yield { ...wireCase, parts: wireCase.parts.filter((_, j) => j !== i) };
  for (const [index, part] of wireCase.parts.entries()) {
    if ('request' in part) yield* requestReductions(wireCase, index, part.request);
    else yield* rawReductions(wireCase, index, part.raw);
  }
}

/**
 * The smallest case reachable by single reductions that `stillFails` keeps failing, within `budget` checks. A
 * reduction that fails is taken at once and the reductions start over from the smaller case.
 */
export async function minimize(start: WireCase, stillFails: (candidate: WireCase) => Promise<boolean>, budget: number): Promise<{ wireCase: WireCase; steps: number; checks: number }> {
  let current = start;
  let steps = 0;
  let checks = 0;
  let improved = true;
  while (improved && checks < budget) {
    improved = false;
    for (const candidate of reductions(current)) {
      if (checks >= budget) break;
      checks++;
      if (await stillFails(candidate)) {
        current = candidate;
        steps++;
        improved = true;
        break;
      }
    }
  }
  return { wireCase: current, steps, checks };
}
