/**
 * Starts the embedded reference server on a worker thread (reference-thread.mjs). A campaign is CPU-bound on both
 * sides of the socket; in one thread the server's half of the work would halve the fuzzing rate.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { EmbeddedOptions } from '../targets/embedded.ts';
import type { RunningTarget } from '../targets/types.ts';

export async function startReferenceThread(options: EmbeddedOptions): Promise<RunningTarget> {
  const worker = new Worker(new URL('./reference-thread.mjs', import.meta.url), { workerData: options });
  const [started] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([err]) => Promise.reject(err as Error))])) as [{ port: number; description: string }];
  const host = options.host ?? '127.0.0.1';
  const exited = new Promise<string>((resolve) => worker.once('exit', (code) => resolve(`the server thread exited with code ${code}`)));
  let stopped: Promise<void> | null = null;
  return {
    endpoint: { host, port: started.port },
    description: `${started.description}, on its own thread`,
    // The log stays on the server's thread: checks that read it need the in-process server.
    log: null,
    exited: exited.then((how) => (stopped ? new Promise<string>(() => {}) : how)),
    stop: () =>
      (stopped ??= (async () => {
        worker.postMessage('stop');
        await once(worker, 'message');
        await worker.terminate();
      })()),
  };
}
