import { SingleBar } from 'cli-progress';
import { isInteractive, type CliStreams } from './output';

/**
 * A progress bar on stderr for long work (rebuild, verify, export), drawn only when stderr is
 * a terminal: in a pipe, a log file or CI the bar's carriage returns are noise, so the
 * command stays quiet there and prints its summary at the end.
 *
 * Progress is measured in global positions (where the work is in the log against the head
 * it aims for), which is the event count on the PostgreSQL store; `cli-progress` counts in
 * numbers, which hold any position below 2^53 exactly and approximate beyond, harmlessly.
 */
export class Progress {
  private constructor(private readonly bar: SingleBar | null) {}

  static start(streams: CliStreams, label: string, total: bigint): Progress {
    if (!isInteractive(streams.err) || total <= 0n) return new Progress(null);
    const bar = new SingleBar({
      stream: streams.err,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate} events/s | {phase}`,
      barCompleteChar: '=',
      barIncompleteChar: ' ',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    });
    bar.start(Number(total), 0, { phase: '', rate: '0' });
    return new Progress(bar);
  }

  private readonly started = Date.now();

  update(position: bigint, events: number, phase = ''): void {
    if (this.bar === null) return;
    const seconds = Math.max((Date.now() - this.started) / 1_000, 0.001);
    this.bar.update(Number(position), { phase, rate: Math.round(events / seconds).toString() });
  }

  /** Moves the goal when the log grew while the work ran. */
  setTotal(total: bigint): void {
    this.bar?.setTotal(Number(total));
  }

  stop(): void {
    this.bar?.stop();
  }
}
