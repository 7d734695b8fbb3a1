import { Injectable } from '@nestjs/common';
import { processStreams, type CliStreams } from './output';

/**
 * What every command shares besides the connections: the output streams and the signal
 * that SIGINT raises. Long commands (rebuild, verify, export) check the signal between
 * batches, stop cleanly, and the process exits 130 after closing its connections.
 */
@Injectable()
export class CliContext {
  readonly streams: CliStreams = processStreams();
  private readonly interrupter = new AbortController();

  get signal(): AbortSignal {
    return this.interrupter.signal;
  }

  interrupt(): void {
    this.interrupter.abort();
  }
}
