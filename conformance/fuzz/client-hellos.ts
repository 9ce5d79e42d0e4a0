/**
 * Templates for the TLS arbitrary: one real ClientHello per client setting (versions, ALPN, SNI, ciphers), captured
 * from Node's TLS client through the catalogue's capture (conformance/catalogue/tls-hello.ts), with the offsets of
 * the fields the client filled at random, so the arbitrary can fill them from a seed instead.
 */
import type tls from 'node:tls';
import { captureClientHello } from '../catalogue/tls-hello.ts';
import type { HelloTemplate } from './arbitraries.ts';

const CLIENT_SETTINGS: ReadonlyArray<{ variant: string; options: tls.ConnectionOptions }> = [
  { variant: 'TLS 1.3, SNI, ALPN h2+http/1.1', options: { minVersion: 'TLSv1.3', servername: 'h1spec.test', ALPNProtocols: ['h2', 'http/1.1'] } },
  { variant: 'TLS 1.2-1.3 defaults', options: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' } },
  { variant: 'TLS 1.2 only, SNI, ALPN http/1.1', options: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', servername: 'localhost.h1spec.test', ALPNProtocols: ['http/1.1'] } },
  { variant: 'TLS 1.0-1.2', options: { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: 'DEFAULT:@SECLEVEL=0' } },
  { variant: 'TLS 1.2, AES-GCM without ECDHE', options: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384', sigalgs: 'RSA+SHA256:RSA+SHA384' } },
  { variant: 'TLS 1.3, ALPN h2 only, long SNI', options: { minVersion: 'TLSv1.3', servername: `${'a'.repeat(60)}.h1spec.test`, ALPNProtocols: ['h2'] } },
];

const KEY_SHARE_EXTENSION = 0x0033;

/** The random fields of a ClientHello record: client random, legacy session ID, and each key share's public key. */
export function randomFieldsOf(hello: Buffer): Array<[number, number]> {
  const fields: Array<[number, number]> = [[11, 32]];
  let at = 43;
  const sessionIdLength = hello[at]!;
  if (sessionIdLength > 0) fields.push([at + 1, sessionIdLength]);
  at += 1 + sessionIdLength;
  at += 2 + hello.readUInt16BE(at); // cipher suites
  at += 1 + hello[at]!; // compression methods
  const extensionsEnd = at + 2 + hello.readUInt16BE(at);
  at += 2;
  while (at + 4 <= extensionsEnd && at + 4 <= hello.length) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    if (type === KEY_SHARE_EXTENSION) {
      let share = at + 6;
      while (share + 4 <= at + 4 + length) {
        const keyLength = hello.readUInt16BE(share + 2);
        fields.push([share + 4, keyLength]);
        share += 4 + keyLength;
      }
    }
    at += 4 + length;
  }
  return fields;
}

let templates: Promise<HelloTemplate[]> | null = null;

/** Every client setting this Node's OpenSSL accepts, captured once per process, in a fixed order. */
export function helloTemplates(): Promise<HelloTemplate[]> {
  templates ??= (async () => {
    const found: HelloTemplate[] = [];
    for (const { variant, options } of CLIENT_SETTINGS) {
      const bytes = await captureClientHello(options).catch(() => null);
      if (bytes && bytes[0] === 0x16) found.push({ variant, bytes, randomFields: randomFieldsOf(bytes) });
    }
    if (found.length === 0) throw new Error('the TLS client produced no ClientHello for any setting');
    return found;
  })();
  return templates;
}
