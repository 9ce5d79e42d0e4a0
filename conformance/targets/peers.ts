/**
 * Real servers the harness can start and compare: one recipe each, so adding a server is adding one entry.
 * Every peer runs the Python probe (conformance/probes/wsgi_probe.py) under Debian's /usr/bin/python3.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Profile, ServerMode } from '../catalogue/types.ts';
import { spawnTarget, type SpawnedTarget, type SpawnOptions } from './spawn.ts';

export interface PeerRecipe {
  name: string;
  /** A command line for /bin/sh, run from the repository root; `{port}` is the port to listen on at 127.0.0.1. */
  command: string;
  mode: ServerMode;
  /** Whether the target answers with the probe contract. */
  probe: boolean;
  /** The profiles the peer is held to. */
  profiles: Profile[];
  /** What `apt-get install` needs for the peer to run (scripts/install-peers.sh installs them all). */
  debianPackages: string[];
  /** Prints the server's name and version; fails when the server cannot run here. */
  versionCommand: string;
}

export const PEER_PYTHON = '/usr/bin/python3';
/** From this module's location, not the process's cwd, so the recipes work wherever the harness is run from. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBES_DIR = fileURLToPath(new URL('../probes/', import.meta.url));

/** Unbuffered, so each log line reaches the harness when it is written; the probe importable by module name. */
const PEER_ENV = { PYTHONUNBUFFERED: '1', PYTHONPATH: PROBES_DIR };
const VERSION_TIMEOUT_MS = 20_000;
const PROBE_APP = 'wsgi_probe:application';

/** Imports `module` (so a missing server fails here) and prints the version its distribution declares. */
function pythonVersionCommand(module: string, distribution: string): string {
  return `${PEER_PYTHON} -c 'import ${module}, importlib.metadata as m; print("${distribution}", m.version("${distribution}"))'`;
}

const PYTHON_WSGI_PROFILES: Profile[] = ['wsgi', 'rfc'];
const DJANGO_PROFILES: Profile[] = ['django', 'wsgi', 'rfc'];

export const peers: readonly PeerRecipe[] = [
  {
    name: 'django',
    command: `${PEER_PYTHON} conformance/probes/django_runserver.py {port}`,
    mode: 'threaded',
    probe: true,
    profiles: DJANGO_PROFILES,
    debianPackages: ['python3-django'],
    versionCommand: pythonVersionCommand('django', 'Django'),
  },
  {
    name: 'django-nothreading',
    command: `${PEER_PYTHON} conformance/probes/django_runserver.py {port} --nothreading`,
    mode: 'serial',
    probe: true,
    profiles: DJANGO_PROFILES,
    debianPackages: ['python3-django'],
    versionCommand: pythonVersionCommand('django', 'Django'),
  },
  {
    name: 'wsgiref',
    command: `${PEER_PYTHON} conformance/probes/serve_probe.py wsgiref {port}`,
    mode: 'serial',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['python3'],
    versionCommand: `${PEER_PYTHON} -c 'import wsgiref.simple_server as s; print(s.software_version)'`,
  },
  {
    name: 'gunicorn',
    command: `${PEER_PYTHON} -m gunicorn --bind 127.0.0.1:{port} --workers 1 --worker-class sync --access-logfile - ${PROBE_APP}`,
    mode: 'serial',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['gunicorn'],
    versionCommand: pythonVersionCommand('gunicorn', 'gunicorn'),
  },
  {
    name: 'waitress',
    command: `${PEER_PYTHON} -m waitress --listen=127.0.0.1:{port} ${PROBE_APP}`,
    mode: 'threaded',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['python3-waitress'],
    versionCommand: pythonVersionCommand('waitress', 'waitress'),
  },
  {
    name: 'werkzeug',
    command: `${PEER_PYTHON} conformance/probes/serve_probe.py werkzeug {port}`,
    mode: 'threaded',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['python3-werkzeug'],
    versionCommand: pythonVersionCommand('werkzeug', 'Werkzeug'),
  },
  {
    name: 'cheroot',
    command: `${PEER_PYTHON} -m cheroot --bind 127.0.0.1:{port} ${PROBE_APP}`,
    mode: 'threaded',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['python3-cheroot'],
    versionCommand: pythonVersionCommand('cheroot', 'cheroot'),
  },
];

export function peerNamed(name: string): PeerRecipe | undefined {
  return peers.find((peer) => peer.name === name);
}

type Availability = { version: string; missing: null } | { version: null; missing: string };
const availabilityByName = new Map<string, Availability>();

function lastLineOf(text: string): string | undefined {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .at(-1);
}

/** Runs the peer's versionCommand once per process: it answers both "can it run here?" and "which version?". */
function availability(peer: PeerRecipe): Availability {
  const known = availabilityByName.get(peer.name);
  if (known) return known;
  let found: Availability;
  try {
    const output = execFileSync('/bin/sh', ['-c', peer.versionCommand], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...PEER_ENV },
      timeout: VERSION_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    found = { version: output.toString('utf8').trim(), missing: null };
  } catch (error) {
    const { stderr, message } = error as { stderr?: Buffer; message: string };
    const reason = lastLineOf(stderr?.toString('utf8') ?? '') ?? lastLineOf(message) ?? 'its version command failed';
    found = {
      version: null,
      missing: `peer ${peer.name} cannot run here (${reason}); install it with: apt-get install -y ${peer.debianPackages.join(' ')} (or scripts/install-peers.sh)`,
    };
  }
  availabilityByName.set(peer.name, found);
  return found;
}

/** Null when the peer can run here, else one line saying why not and how to install it. */
export function peerMissing(peer: PeerRecipe): string | null {
  return availability(peer).missing;
}

/** The peer's name and version as it reports them (`Django 3.2.25`); null when it cannot run here. */
export function peerVersion(peer: PeerRecipe): string | null {
  return availability(peer).version;
}

/** Starts the peer from the repository root on a free port of 127.0.0.1. */
export function spawnPeer(peer: PeerRecipe, options: Pick<SpawnOptions, 'startTimeoutMs'> = {}): Promise<SpawnedTarget> {
  return spawnTarget(peer.command, { ...options, cwd: REPO_ROOT, env: PEER_ENV });
}
