import { SingleBar } from 'cli-progress';
import type { RunObserver } from '../runner.ts';

/** A live progress line for a person watching a terminal; none otherwise, so logs and CI output stay clean. */
export function progressObserver(stream: NodeJS.WriteStream): RunObserver | undefined {
  if (!stream.isTTY) return undefined;
  const bar = new SingleBar({
    stream,
    format: 'h1spec {bar} {value}/{total} {last}',
    // A hidden cursor would stay hidden when a signal ends the process mid-run.
    hideCursor: false,
    clearOnComplete: true,
  });
  return {
    started: (total) => bar.start(total, 0, { last: '' }),
    checkFinished: (record, done) => bar.update(done, { last: `${record.id} ${record.verdict}` }),
    finished: () => bar.stop(),
  };
}
