import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { parseProbeReport } from '../conformance/probes/contract.ts';
import { REPO_ROOT, peerMissing, peerNamed, peers, spawnPeer } from '../conformance/targets/peers.ts';
import { TargetStartError, spawnTarget, type SpawnedTarget } from '../conformance/targets/spawn.ts';
import type { Endpoint } from '../conformance/wire/types.ts';
import { exchange, get } from './support/raw-http.ts';

// Starting a real server on a loaded CI machine may take a while; spawnTarget's own bound (15 s) decides first.
vi.setConfig({ testTimeout: 30_000 });

const LISTEN = `/usr/bin/python3 ${path.join(REPO_ROOT, 'test/support/listen.py')}`;
const django = peerNamed('django')!;
const djangoMissing = peerMissing(django);

/** Runs `use` on a started target and stops the target afterwards, whatever the outcome. */
async function withTarget<T>(starting: Promise<SpawnedTarget>, use: (target: SpawnedTarget) => Promise<T>): Promise<T> {
  const target = await starting;
  try {
    return await use(target);
  } finally {
    await target.stop();
  }
}

/** Opens a connection and waits until the target closes it. */
function connectOnce(endpoint: Endpoint): Promise<void> {
  return new Promise((resolve) => net.connect(endpoint.port, endpoint.host).on('close', () => resolve()).on('error', () => resolve()).resume());
}

/** Whether the process runs: an unreaped zombie (this sandbox's init does not reap orphans) is dead too. */
function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** PIDs of running processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isRunning);
}

const ACCESS_LINE = /^\[\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}\] "GET \/probe\?x=1 HTTP\/1\.1" 200 \d+$/;

describe('spawnTarget', () => {
  test.skipIf(djangoMissing)(`real Django (threaded) serves the probe, logs the request and stops${djangoMissing ? ` — skipped: ${djangoMissing}` : ''}`, async () => {
    process.env.H1SPEC_TEST_SECRET = 'must not reach the target';
    const starting = spawnPeer(django);
    delete process.env.H1SPEC_TEST_SECRET;
    await withTarget(starting, async (target) => {
      const window = target.log!.window();

      const response = await get(target.endpoint, '/probe?x=1');
      expect(response.statusLine).toBe('HTTP/1.1 200 OK');
      const report = parseProbeReport(response.body);
      expect(report).not.toBeNull();
      expect(report!.environ).toMatchObject({
        SERVER_PORT: String(target.endpoint.port),
        SERVER_NAME: 'localhost',
        REMOTE_ADDR: '127.0.0.1',
        PATH_INFO: '/probe',
        QUERY_STRING: 'x=1',
        HTTP_HOST: 'example.test',
        SERVER_SOFTWARE: 'WSGIServer/0.2',
    });
    expect(report!.environ).not.toHaveProperty('H1SPEC_TEST_SECRET');
    expect(report!.objects['wsgi.input']).toBe('LimitedStream');

    const lines = await window.lines();
    expect(lines.filter((line) => ACCESS_LINE.test(line))).toHaveLength(1);
    expect(await target.log!.window().lines()).toEqual([]);

    await target.stop();
    expect(await target.exited).toBe('was killed by SIGTERM');
    expect(isRunning(target.pid)).toBe(false);
    });
  });

  test.skipIf(djangoMissing)(`listens on ::1 when asked to${djangoMissing ? ` — skipped: ${djangoMissing}` : ''}`, async () => {
    const starting = spawnTarget('/usr/bin/python3 conformance/probes/django_runserver.py {port} --ipv6', { host: '::1', cwd: REPO_ROOT });
    await withTarget(starting, async (target) => {
      const report = parseProbeReport((await get(target.endpoint, '/')).body);
      expect(report?.environ).toMatchObject({ REMOTE_ADDR: '::1', SERVER_PORT: String(target.endpoint.port) });
    });
  });

  test('a target that exits at once rejects with its last stderr line, on one line', async () => {
    const failure = spawnTarget("/usr/bin/python3 -c 'import h1spec_no_such_module' {port}", { cwd: REPO_ROOT });
    await expect(failure).rejects.toBeInstanceOf(TargetStartError);
    const error = (await failure.catch((e: unknown) => e)) as TargetStartError;
    expect(error.message).toMatch(
      /^target exited with code 1 before accepting connections on 127\.0\.0\.1:\d+: ModuleNotFoundError: No module named 'h1spec_no_such_module'$/,
    );
    expect(error.outputTail[0]).toBe('Traceback (most recent call last):');
  });

  test('a target that never listens is stopped and rejected once the start timeout passes', async () => {
    const marker = `h1spec-never-listens-${process.pid}-${Date.now()}`;
    const failure = spawnTarget(`/usr/bin/python3 -c 'import time; print("waiting", flush=True); time.sleep(30)' ${marker} {port}`, {
      startTimeoutMs: 500,
    });
    // Its last words are there unless a slow machine had not even started Python when the time ran out.
    await expect(failure).rejects.toThrow(/^target did not accept connections on 127\.0\.0\.1:\d+ within 500 ms: (waiting|no output)$/);
    expect(processesWith(marker)).toEqual([]);
  });

  test('a command without {port} and without a port is refused before anything starts', async () => {
    await expect(spawnTarget('/usr/bin/python3 -m http.server')).rejects.toThrow(TargetStartError);
  });

  test('the environment is clean: only PATH, HOME, LANG, what the caller adds, and the PWD /bin/sh exports', async () => {
    await withTarget(spawnTarget(`${LISTEN} {port}`, { env: { H1SPEC_ADDED: 'yes' } }), async (target) => {
      const names = readFileSync(`/proc/${target.pid}/environ`, 'latin1').split('\0').filter(Boolean).map((entry) => entry.split('=')[0]);
      const inherited = ['PATH', 'HOME', 'LANG'].filter((name) => process.env[name] !== undefined);
      expect(names.sort()).toEqual([...inherited, 'H1SPEC_ADDED', 'PWD'].sort());
    });
  });

  test('the log keeps the last 10,000 lines of stdout and stderr, and a window sees only lines after it opened', async () => {
    await withTarget(spawnTarget(`${LISTEN} {port} --lines 10050`), async (target) => {
      const window = target.log!.window();
      await connectOnce(target.endpoint);
      const lines = await window.lines();
      expect(lines).toHaveLength(10_000);
      expect(lines[0]).toBe('line 51');
      expect(lines.at(-2)).toBe('line 10049');
      expect(lines.at(-1)).toBe('done 10050');
    });
  });
});

describe('a harness that ends without stopping its target leaves nothing running', () => {
  const abandon = (mode: 'return' | 'throw' | 'signal'): Promise<{ targetPid: number; harness: { code: number | null; signal: string | null } }> =>
    new Promise((resolve, reject) => {
      const harness = spawn(process.execPath, ['--import', 'tsx', 'test/support/abandon_target.ts', mode, `${LISTEN} {port}`], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let targetPid = 0;
      let stderr = '';
      const timer = setTimeout(() => harness.kill('SIGKILL'), 20_000);
      harness.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      harness.stdout.on('data', (data: Buffer) => {
        targetPid = Number(data.toString().trim());
        if (mode === 'signal') harness.kill('SIGTERM');
      });
      harness.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!targetPid) reject(new Error(`the harness never started its target: ${stderr}`));
        else resolve({ targetPid, harness: { code, signal } });
      });
    });

  test.each([
    ['returns', 'return', { code: 0, signal: null }],
    ['throws', 'throw', { code: 1, signal: null }],
    ['gets SIGTERM', 'signal', { code: null, signal: 'SIGTERM' }],
  ] as const)('the harness %s', async (_, mode, ending) => {
    const { targetPid, harness } = await abandon(mode);
    expect(harness).toEqual(ending);
    // SIGKILL was sent as the harness exited; a loaded machine may take a moment to deliver it.
    for (let tries = 0; tries < 100 && isRunning(targetPid); tries++) await sleep(20);
    expect(isRunning(targetPid)).toBe(false);
  });
});

describe('peer recipes', () => {
  test('every peer names its Debian packages, all of them installed by scripts/install-peers.sh', () => {
    const script = readFileSync(path.join(REPO_ROOT, 'scripts/install-peers.sh'), 'utf8');
    const listed = /^PACKAGES="([^"]*)"$/m.exec(script)![1]!.split(' ');
    expect(new Set(listed)).toEqual(new Set(peers.flatMap((peer) => peer.debianPackages)));
  });

  // Peers that do not serve the probe (nginx, lighttpd) are started by test/matrix.test.ts.
  describe.concurrent.each(peers.filter((peer) => peer.probe).map((peer) => ({ peer, missing: peerMissing(peer) })))('$peer.name', ({ peer, missing }) => {
    test.skipIf(missing)(`starts, answers a GET with a probe report, stops${missing ? ` — skipped: ${missing}` : ''}`, async ({ expect }) => {
      const pid = await withTarget(spawnPeer(peer), async (target) => {
        const report = parseProbeReport((await get(target.endpoint, '/peer?check=1')).body);
        expect(report?.environ).toMatchObject({ PATH_INFO: '/peer', QUERY_STRING: 'check=1', SERVER_PORT: String(target.endpoint.port) });
        return target.pid;
      });
      expect(isRunning(pid)).toBe(false);
    });
  });

  const wsgiref = peerNamed('wsgiref')!;
  const wsgirefMissing = peerMissing(wsgiref);
  test.skipIf(wsgirefMissing)(
    `on wsgiref, whose wsgi.input is the raw socket, the probe answers a POST without Content-Length without reading${wsgirefMissing ? ` — skipped: ${wsgirefMissing}` : ''}`,
    async () => {
      await withTarget(spawnPeer(wsgiref), async (target) => {
        const response = await exchange(target.endpoint, 'POST / HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
        expect(parseProbeReport(response.body)?.body).toEqual({ length: 0, base64: '' });
      });
    },
  );

  const gunicorn = peerNamed('gunicorn')!;
  const gunicornMissing = peerMissing(gunicorn);
  test.skipIf(gunicornMissing)(
    `on gunicorn, whose input is terminated, the probe reads a chunked body to its end${gunicornMissing ? ` — skipped: ${gunicornMissing}` : ''}`,
    async () => {
      await withTarget(spawnPeer(gunicorn), async (target) => {
        const response = await exchange(
          target.endpoint,
          'POST / HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
        );
        const report = parseProbeReport(response.body);
        expect(report?.environ['wsgi.input_terminated']).toBe(true);
        expect(report?.body).toEqual({ length: 5, base64: Buffer.from('hello').toString('base64') });
      });
    },
  );

  test('a peer that cannot run says why and how to install it, on one line', () => {
    const absent = { ...django, name: 'h1spec-absent', versionCommand: "/usr/bin/python3 -c 'import h1spec_absent_server'", debianPackages: ['python3-h1spec-absent'] };
    expect(peerMissing(absent)).toBe(
      "peer h1spec-absent cannot run here (ModuleNotFoundError: No module named 'h1spec_absent_server'); install it with: apt-get install -y python3-h1spec-absent (or scripts/install-peers.sh)",
    );
  });
});

describe('scripts/install-peers.sh', () => {
  /** Runs the script with stand-ins for dpkg-query, id and apt-get that report what they were asked. */
  function runInstall(options: { installed: boolean; aptFails?: 'update' | 'install' }) {
    const bin = mkdtempSync(path.join(tmpdir(), 'h1spec-install-'));
    const calls = path.join(bin, 'calls');
    const stub = (name: string, body: string): void => {
      writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    stub('dpkg-query', options.installed ? "printf installed" : 'case "$*" in *gunicorn*) printf installed;; *) exit 1;; esac');
    stub('id', 'echo 0');
    stub('apt-get', `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ${calls}; [ "$1" != "${options.aptFails ?? 'none'}" ]`);
    try {
      const run = spawnSync('/bin/sh', [path.join(REPO_ROOT, 'scripts/install-peers.sh')], {
        env: { PATH: `${bin}:/usr/bin:/bin`, H1SPEC_POLICY_RC_D: path.join(bin, 'policy-rc.d') },
        encoding: 'utf8',
        timeout: 10_000,
      });
      let aptCalls: string[] = [];
      try {
        aptCalls = readFileSync(calls, 'utf8').trim().split('\n');
      } catch {
        // no call at all
      }
      return { status: run.status, stderr: run.stderr, aptCalls };
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }

  test('a machine that has every package does not run apt-get', () => {
    expect(runInstall({ installed: true })).toMatchObject({ status: 0, aptCalls: [] });
  });

  test('missing packages: one update, then one install of exactly those, non-interactive', () => {
    const script = readFileSync(path.join(REPO_ROOT, 'scripts/install-peers.sh'), 'utf8');
    const listed = ['PACKAGES', 'TOOLS'].flatMap((name) => new RegExp(`^${name}="([^"]*)"$`, 'm').exec(script)![1]!.split(' '));
    expect(runInstall({ installed: false }).aptCalls).toEqual([
      'apt-get update DEBIAN_FRONTEND=noninteractive',
      `apt-get install -y --no-install-recommends ${listed.filter((name) => name !== 'gunicorn').join(' ')} DEBIAN_FRONTEND=noninteractive`,
    ]);
  });

  test.each(['update', 'install'] as const)('apt-get %s failing fails the script with a clear message', (step) => {
    const run = runInstall({ installed: false, aptFails: step });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`install-peers: apt-get ${step} failed`));
  });
});
