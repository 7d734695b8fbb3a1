import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallbackRejectedError, type VerifiedCallback, type WebhookHeaders } from '@ledger/payments';

/** One request the receiver got, with what it answered. */
export interface ReceivedCallback {
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  readonly status: number;
  readonly verified?: VerifiedCallback;
  readonly rejection?: CallbackRejectedError;
}

export interface CallbackReceiver {
  readonly url: string;
  readonly received: ReceivedCallback[];
  /** Answers the next `count` requests with `status` before verifying anything (a receiver in trouble). */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

/**
 * A stand-in for the ledger's callback endpoint over real HTTP: it reads the raw body,
 * verifies it with the given function (a channel's `verifyCallback`) and answers 200, or the
 * rejection's status. Every request is kept for the test to inspect.
 */
export async function startCallbackReceiver(
  verify: (headers: WebhookHeaders, rawBody: Buffer, now: Date) => VerifiedCallback,
): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const failures: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let entry: ReceivedCallback;
      const failure = failures.shift();
      if (failure !== undefined) {
        entry = { headers: req.headers, rawBody, status: failure };
      } else {
        try {
          entry = { headers: req.headers, rawBody, status: 200, verified: verify(req.headers, rawBody, new Date()) };
        } catch (error) {
          if (!(error instanceof CallbackRejectedError)) throw error;
          entry = { headers: req.headers, rawBody, status: error.status, rejection: error };
        }
      }
      received.push(entry);
      res.statusCode = entry.status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/callbacks/sandbox`,
    received,
    failNext: (count, status = 500) => failures.push(...Array.from({ length: count }, () => status)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP port nothing listens on: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
