/**
 * Real servers the harness can start and compare: one recipe each, so adding a server is adding one entry (and its
 * expectation manifest, conformance/expectations/<name>.yaml). WSGI servers run the Python probe
 * (conformance/probes/wsgi_probe.py) under Debian's /usr/bin/python3; the others serve what fits them (the probe
 * behind node:http, a static page for nginx and lighttpd) and are held only to the profiles that apply.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Profile, ServerMode } from '../catalogue/types.ts';
import { spawnTarget, type SpawnedTarget, type SpawnOptions } from './spawn.ts';

export interface PeerRecipe {
  name: string;
  /**
   * A command line for /bin/sh, run from the repository root; `{port}` is the port to listen on at 127.0.0.1. Servers
   * whose configuration must name the port start through conformance/probes/with-config.ts (see `withConfig`).
   */
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
  /** The expectation manifest that gates the peer, by name under conformance/expectations/; the peer's own name when absent. */
  manifest?: string;
}

export const PEER_PYTHON = '/usr/bin/python3';
/** From this module's location, not the process's cwd, so the recipes work wherever the harness is run from. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBES_DIR = fileURLToPath(new URL('../probes/', import.meta.url));

/** Unbuffered, so each log line reaches the harness when it is written; the probe importable by module name. */
const PEER_ENV = { PYTHONUNBUFFERED: '1', PYTHONPATH: PROBES_DIR };
/** PEER_ENV for a command line run from the repository root, as reports print it: no path of this machine in it. */
const PEER_ENV_FROM_ROOT = { ...PEER_ENV, PYTHONPATH: 'conformance/probes' };
const VERSION_TIMEOUT_MS = 20_000;
const PROBE_APP = 'wsgi_probe:application';

/** Imports `module` (so a missing server fails here) and prints the version its distribution declares. */
function pythonVersionCommand(module: string, distribution: string): string {
  return `${PEER_PYTHON} -c 'import ${module}, importlib.metadata as m; print("${distribution}", m.version("${distribution}"))'`;
}

/**
 * Starts `server` through the config launcher: TEMPLATE (a folder of conformance/probes/config/) is copied to a fresh
 * temporary folder with `{port}`, `{dir}` and `{repo}` filled in, and `{dir}` in `server`'s arguments is that folder.
 */
function withConfig(template: string, server: string): string {
  return `node --import tsx conformance/probes/with-config.ts conformance/probes/config/${template} {port} ${server}`;
}

/** The reference server, as `h1spec serve` runs it: the TypeScript port of runserver with the probe built in. */
const REFERENCE_COMMAND = 'node bin/h1spec.mjs serve --app probe --port {port}';
const REFERENCE_VERSION = `printf 'h1spec reference %s\\n' "$(node bin/h1spec.mjs --version)"`;

const PYTHON_WSGI_PROFILES: Profile[] = ['wsgi', 'rfc'];
const DJANGO_PROFILES: Profile[] = ['django', 'wsgi', 'rfc'];
/** Not WSGI servers: only what RFC 9110/9112 ask of any origin server applies. */
const HTTP_PROFILES: Profile[] = ['rfc'];

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
  {
    // uWSGI's own HTTP parser (--http-socket), not its HTTP router; one process, no threads, as it starts by default.
    name: 'uwsgi',
    command: 'uwsgi --plugin python3 --http-socket 127.0.0.1:{port} --wsgi-file conformance/probes/wsgi_probe.py --master --die-on-term',
    mode: 'serial',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['uwsgi', 'uwsgi-plugin-python3'],
    versionCommand: `test -e /usr/lib/uwsgi/plugins/python3_plugin.so && printf 'uWSGI %s\\n' "$(uwsgi --version)"`,
  },
  {
    // twisted.web's WSGIResource, as `twistd web --wsgi` mounts it; no pid file, logs on stdout.
    name: 'twisted',
    command: `${PEER_PYTHON} /usr/bin/twistd3 --nodaemon --pidfile= web --wsgi wsgi_probe.application --listen tcp:{port}:interface=127.0.0.1`,
    mode: 'threaded',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['python3-twisted'],
    versionCommand: pythonVersionCommand('twisted.web.wsgi', 'Twisted'),
  },
  {
    name: 'apache2',
    command: withConfig('apache2', 'apache2 -f {dir}/apache2.conf -DFOREGROUND'),
    mode: 'threaded',
    probe: true,
    profiles: PYTHON_WSGI_PROFILES,
    debianPackages: ['apache2', 'libapache2-mod-wsgi-py3'],
    versionCommand: `test -e /usr/lib/apache2/modules/mod_wsgi.so && printf '%s mod_wsgi/%s\\n' "$(apache2 -v | sed -n 's/^Server version: //p')" "$(dpkg-query -W -f='\${source:Upstream-Version}' libapache2-mod-wsgi-py3)"`,
  },
  {
    name: 'nginx',
    command: withConfig('nginx', "nginx -e stderr -p {dir} -c {dir}/nginx.conf -g 'daemon off;'"),
    mode: 'threaded',
    probe: false,
    profiles: HTTP_PROFILES,
    debianPackages: ['nginx'],
    versionCommand: 'nginx -v 2>&1 | sed -n "s/^nginx version: //p" | grep .',
  },
  {
    name: 'lighttpd',
    command: withConfig('lighttpd', 'lighttpd -D -f {dir}/lighttpd.conf'),
    mode: 'threaded',
    probe: false,
    profiles: HTTP_PROFILES,
    debianPackages: ['lighttpd'],
    versionCommand: "lighttpd -v | cut -d' ' -f1 | grep .",
  },
  {
    // node:http behind a small adapter to the probe; the Node that runs the harness.
    name: 'node-http',
    command: 'node --import tsx conformance/probes/node-http-probe.ts {port}',
    mode: 'threaded',
    probe: true,
    profiles: HTTP_PROFILES,
    debianPackages: [],
    versionCommand: `node -p '"node:http " + process.version'`,
  },
  {
    // The reference is held to Django's own expectations: any difference from them is a bug of the port.
    name: 'reference',
    command: REFERENCE_COMMAND,
    mode: 'threaded',
    probe: true,
    profiles: DJANGO_PROFILES,
    debianPackages: [],
    versionCommand: REFERENCE_VERSION,
    manifest: 'django',
  },
  {
    name: 'reference-nothreading',
    command: `${REFERENCE_COMMAND} --nothreading`,
    mode: 'serial',
    probe: true,
    profiles: DJANGO_PROFILES,
    debianPackages: [],
    versionCommand: REFERENCE_VERSION,
    manifest: 'django-nothreading',
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

/** The peer's expectation manifest, relative to the repository root. */
export function peerManifestPath(peer: PeerRecipe): string {
  return `conformance/expectations/${peer.manifest ?? peer.name}.yaml`;
}

/**
 * The peer's command with the environment it needs in front, for `h1spec run --spawn` from the repository root:
 * what reports print so anyone can start the same server again.
 */
export function peerCommandLine(peer: PeerRecipe): string {
  const assignments = Object.entries(PEER_ENV_FROM_ROOT).map(([name, value]) => `${name}=${value}`);
  return `env ${assignments.join(' ')} ${peer.command}`;
}

/** Starts the peer from the repository root on a free port of 127.0.0.1. */
export function spawnPeer(peer: PeerRecipe, options: Pick<SpawnOptions, 'startTimeoutMs'> = {}): Promise<SpawnedTarget> {
  return spawnTarget(peer.command, { ...options, cwd: REPO_ROOT, env: PEER_ENV });
}
