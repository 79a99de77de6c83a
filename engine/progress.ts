// Progress for long CLI commands (verify, replay, export, reconcile): a bar with rate and ETA on a terminal
// (cli-progress), and a plain line every few seconds when the output is a file or a pipe, so logs of
// batch jobs stay readable.

import cliProgress from 'cli-progress';

/** How often a plain progress line is written when the output is not a terminal, by default. */
const plainIntervalMsDefault = 5_000;

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressFor(
  task: string,
  unit: string,
  stream: NodeJS.WritableStream & { readonly isTTY?: boolean } = process.stderr,
  plainIntervalMs = plainIntervalMsDefault,
): Progress {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WriteStream,
        format: `${task} [{bar}] {percentage}% | {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    const startedMs = Date.now();
    let started = false;
    return {
      update(done, total) {
        const speed = Math.round(done / Math.max(0.001, (Date.now() - startedMs) / 1000));
        if (!started) {
          bar.start(total, done, { speed });
          started = true;
        }
        bar.setTotal(total);
        bar.update(done, { speed });
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const startedMs = Date.now();
  let lastMs = 0;
  let last = { done: 0, total: 0 };
  let printed = 0;
  const line = () => {
    const seconds = Math.max(0.001, (Date.now() - startedMs) / 1000);
    const rate = last.done / seconds;
    const percent = last.total === 0 ? 100 : Math.floor((100 * last.done) / last.total);
    const left = Math.max(0, last.total - last.done);
    const eta = left === 0 ? '0s' : rate > 0 ? `${Math.ceil(left / rate)}s` : 'unknown';
    stream.write(
      `${task}: ${last.done}/${last.total} ${unit} (${percent}%), ${Math.round(rate)} ${unit}/s, ETA ${eta}\n`,
    );
    printed = last.done;
  };
  return {
    update(done, total) {
      last = { done, total };
      const now = Date.now();
      if (now - lastMs >= plainIntervalMs) {
        lastMs = now;
        line();
      }
    },
    stop() {
      if (printed !== last.done) line();
    },
  };
}
