// The embedded reference server on a worker thread of its own, so a campaign's generation and judging (main thread)
// and the server (this thread) each get a core. The sources are TypeScript, loaded through tsx as bin/h1spec.mjs does.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { startEmbeddedReference } = await import('../targets/embedded.ts');
const target = await startEmbeddedReference(workerData);
parentPort.postMessage({ port: target.endpoint.port, description: target.description });
parentPort.once('message', async () => {
  await target.stop();
  parentPort.postMessage({ stopped: true });
});
