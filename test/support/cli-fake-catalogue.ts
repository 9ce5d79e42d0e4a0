import type { CheckResult, Requirement } from '../../conformance/catalogue/types.ts';
import { exchange } from '../../conformance/wire/client.ts';

/**
 * Stands in for conformance/catalogue/index.ts when test/cli.test.ts runs the CLI (see cli-fake-catalogue-hooks.mjs),
 * so the CLI's exit codes and outputs are tested against checks whose outcome the test's own server decides.
 */
async function rootResponse(ctx: Parameters<Requirement['check']>[0]) {
  const conversation = await exchange(ctx.endpoint, `GET / HTTP/1.1\r\nHost: fake\r\n\r\n`, { methods: ['GET'], timeoutMs: ctx.timeoutMs, after: 'none' });
  const evidence = [{ label: 'GET /', sent: conversation.sent, received: conversation.received, close: conversation.close }];
  return { response: conversation.responses[0], evidence };
}

function verdict(ok: boolean, expected: string, actual: string, evidence: CheckResult['evidence']): CheckResult {
  return { verdict: ok ? 'pass' : 'fail', expected, actual, evidence };
}

export const catalogue: readonly Requirement[] = [
  {
    id: 'FAKE-STATUS-200',
    title: 'GET / is answered 200',
    profiles: ['django', 'rfc'],
    level: 'MUST',
    source: 'test',
    needs: {},
    async check(ctx) {
      const { response, evidence } = await rootResponse(ctx);
      return verdict(response?.status === 200, 'status 200', `status ${response?.status ?? 'none'}`, evidence);
    },
  },
  {
    id: 'FAKE-HEADER',
    title: 'GET / carries X-Fake',
    profiles: ['django'],
    level: 'SHOULD',
    source: 'test',
    needs: {},
    async check(ctx) {
      const { response, evidence } = await rootResponse(ctx);
      const present = response?.headers.some(([name]) => name.toLowerCase() === 'x-fake') ?? false;
      return verdict(present, 'an X-Fake header', present ? 'present' : 'absent', evidence);
    },
  },
  {
    id: 'FAKE-WSGI-PROBE',
    title: 'the probe application answers',
    profiles: ['wsgi'],
    level: 'MUST',
    source: 'test',
    needs: { probe: true },
    async check() {
      return verdict(true, 'a probe report', 'a probe report', []);
    },
  },
];
