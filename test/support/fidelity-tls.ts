import { captureClientHello, clientHelloWithLineFeed, clientHelloWithoutLineFeed } from '../../conformance/catalogue/tls-hello.ts';
import type { FidelityCase } from './fidelity-cases.ts';

/** Client settings spread over versions and extensions: whatever words each hello happens to split into, both servers must agree. */
const CLIENT_SETTINGS = [
  { minVersion: 'TLSv1.3', servername: 'fidelity.h1spec.test', ALPNProtocols: ['h2', 'http/1.1'] },
  { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' },
  { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] },
  { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' },
] as const;

/** Real ClientHellos sent to the plain-HTTP port (TLS-CLIENTHELLO-400, TLS-LOG): with and without a LF byte, and varied. */
export async function tlsFidelityCases(): Promise<FidelityCase[]> {
  const ids = ['TLS-CLIENTHELLO-400', 'TLS-LOG', 'KA-ERROR-CLOSE'];
  const [withLf, withoutLf] = await Promise.all([clientHelloWithLineFeed(), clientHelloWithoutLineFeed()]);
  const varied = await Promise.all(CLIENT_SETTINGS.map((settings) => captureClientHello({ ...settings })));
  return [
    { name: `ClientHello with a LF (${withLf.variant})`, ids, bytes: withLf.bytes },
    { name: `ClientHello without a LF (${withoutLf.variant})`, ids, bytes: withoutLf.bytes },
    ...varied.map((bytes, i) => ({ name: `ClientHello variant ${i + 1}`, ids, bytes })),
  ];
}
