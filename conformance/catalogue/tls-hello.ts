/**
 * Real TLS ClientHellos, as Node's TLS client writes them, for the checks that point a TLS client at a plain-HTTP port.
 * A hello is captured by letting `tls.connect` run over a fake socket that keeps the first flight and never answers.
 *
 * Whether the hello holds a LF byte decides when a line-reading server sees it: at once (LF), or only when the
 * client half-closes (no LF). Both kinds are searched for over a spread of client settings (versions, ALPN, SNI,
 * ciphers, signature algorithms), and the first of each is cached for the life of the process.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface ClientHello {
  bytes: Buffer;
  /** The client settings that produced it, in words, for evidence labels. */
  variant: string;
}

interface Variant {
  name: string;
  options: tls.ConnectionOptions;
}

/**
 * Modern defaults always carry a LF (supported_groups is extension type 0x000a); the last variants leave out every
 * fixed 0x0a (no EC cipher, no signature algorithm 0x080a/0x080b), so only their random bytes can hold one.
 */
const VARIANTS: readonly Variant[] = [
  { name: 'TLS 1.3, SNI, ALPN h2+http/1.1', options: { minVersion: 'TLSv1.3', servername: 'h1spec.test', ALPNProtocols: ['h2', 'http/1.1'] } },
  { name: 'TLS 1.2-1.3, ALPN http/1.1', options: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ALPNProtocols: ['http/1.1'] } },
  { name: 'TLS 1.2 only, SNI', options: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', servername: 'localhost.h1spec.test' } },
  { name: 'TLS 1.0-1.2, default ciphers', options: { minVersion: 'TLSv1', maxVersion: 'TLSv1.2' } },
  {
    name: 'TLS 1.2, AES128-SHA only, RSA/ECDSA SHA-256 signatures',
    options: { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA', sigalgs: 'RSA+SHA256:ECDSA+SHA256:RSA-PSS+SHA256' },
  },
  {
    name: 'TLS 1.2, AES-GCM without ECDHE, SNI, ALPN http/1.1',
    options: {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384',
      sigalgs: 'RSA+SHA256:RSA+SHA384',
      servername: 'h1spec.test',
      ALPNProtocols: ['http/1.1'],
    },
  },
  {
    name: 'TLS 1.2, AES-SHA256 without ECDHE, SNI, ALPN http/1.1+http/1.0',
    options: {
      maxVersion: 'TLSv1.2',
      ciphers: 'AES256-SHA256:AES128-SHA256',
      sigalgs: 'RSA+SHA256',
      servername: 'www.h1spec.test',
      ALPNProtocols: ['http/1.1', 'http/1.0'],
    },
  },
];

/** Hellos are random (client random, session ID, key shares): a few tries per variant find one of each kind. */
const ATTEMPTS_PER_VARIANT = 12;
const CAPTURE_TIMEOUT_MS = 5000;
const LF = 0x0a;

/** The first bytes the TLS client writes: its ClientHello. */
export function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let client: tls.TLSSocket | null = null;
    let settled = false;
    const finish = (outcome: Buffer | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client?.destroy();
      fake.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const fake = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        callback();
        // The hello is one write; the callback lets the client finish it before the capture ends.
        setImmediate(() => finish(chunk));
      },
    });
    const timer = setTimeout(() => finish(new Error('the TLS client wrote no ClientHello')), CAPTURE_TIMEOUT_MS);
    client = tls.connect({ ...options, socket: fake as unknown as Socket });
    client.on('error', () => {});
  });
}

/** Python's `str.isspace()` for the latin-1 characters: what `str.split()` splits on. */
const PYTHON_WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0]);

/**
 * The words http.server's parse_request sees in the line these bytes begin: up to and including the first LF, read
 * as latin-1, CR/LF stripped from the end, split on Python whitespace.
 */
export function requestLineWords(bytes: Buffer): string[] {
  const lf = bytes.indexOf(LF);
  const line = lf >= 0 ? bytes.subarray(0, lf + 1) : bytes;
  const words: string[] = [];
  let current = '';
  for (const byte of line) {
    if (PYTHON_WHITESPACE.has(byte)) {
      if (current) words.push(current);
      current = '';
    } else {
      current += String.fromCharCode(byte);
    }
  }
  if (current) words.push(current);
  return words;
}

type Kind = 'with-lf' | 'without-lf';
const found = new Map<Kind, Promise<ClientHello>>();

/**
 * A hello of the wanted kind whose line has at least three words, so http.server takes its last word as a version
 * and answers "Bad request version" (TLS-CLIENTHELLO-400).
 */
async function search(kind: Kind): Promise<ClientHello> {
  const offset = Math.floor(Math.random() * VARIANTS.length);
  for (let i = 0; i < VARIANTS.length; i++) {
    const variant = VARIANTS[(offset + i) % VARIANTS.length]!;
    for (let attempt = 0; attempt < ATTEMPTS_PER_VARIANT; attempt++) {
      const bytes = await captureClientHello(variant.options);
      const hasLf = bytes.includes(LF);
      if (hasLf !== (kind === 'with-lf')) {
        // A variant with a fixed LF byte never gives the other kind: a few tries tell it apart from random luck.
        if (hasLf && attempt >= 2) break;
        continue;
      }
      if (requestLineWords(bytes).length >= 3) return { bytes, variant: variant.name };
    }
  }
  throw new Error(`no ClientHello ${kind === 'with-lf' ? 'with' : 'without'} a LF byte and three words found in ${VARIANTS.length} client variants`);
}

function cached(kind: Kind): Promise<ClientHello> {
  let hello = found.get(kind);
  if (!hello) {
    hello = search(kind);
    // A failed search may succeed later (the hellos are random): do not cache the failure.
    hello.catch(() => found.delete(kind));
    found.set(kind, hello);
  }
  return hello;
}

/** A real ClientHello holding a LF byte: a line-reading server has its "request line" at once. */
export function clientHelloWithLineFeed(): Promise<ClientHello> {
  return cached('with-lf');
}

/** A real ClientHello without any LF byte: a line-reading server waits for more, until the client half-closes. */
export function clientHelloWithoutLineFeed(): Promise<ClientHello> {
  return cached('without-lf');
}
