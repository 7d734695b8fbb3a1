import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** A request as the fuzzer builds it: the path is sent byte for byte, unnormalised. */
export interface RawRequest {
  method: string;
  /** Path and query exactly as sent (`..`, `%2F` and friends stay as they are). */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

/**
 * One request on a connection of its own (no keep-alive), so a refused or cut-short request
 * cannot poison the next one. Node's client refuses only what HTTP itself forbids (control
 * characters in header values, non-ASCII in the path); everything else is sent as given.
 */
export function send(baseUrl: string, req: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  const headers: OutgoingHttpHeaders = { ...req.headers };
  // Node's client frames a GET body with neither length nor chunking; say how long it is.
  if (req.body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const client = httpRequest(
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent: false, timeout: timeoutMs },
      (res) => {
        answered = true;
        let ended = false;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('close', () => {
          if (!ended) reject(new Error(`answer cut short: ${req.method} ${req.path.slice(0, 200)}`));
        });
        res.on('end', () => {
          ended = true;
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          if (/json/.test(String(res.headers['content-type'] ?? ''))) {
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    client.on('timeout', () => client.destroy(new Error(`no answer within ${timeoutMs} ms: ${req.method} ${req.path.slice(0, 200)}`)));
    // The server may answer (413) and close before the whole body is written; the answer
    // still arrives, so a write error alone is not a failure.
    client.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      reject(error);
    });
    client.on('close', () => {
      // Closed without an answer: report it instead of hanging the test.
      if (!answered) reject(new Error(`connection closed without an answer: ${req.method} ${req.path.slice(0, 200)}`));
    });
    if (req.body !== undefined) client.end(req.body);
    else client.end();
  });
}

export function bearer(key: string): string {
  return `Bearer ${key}`;
}

/**
 * Bytes straight onto a socket, for what no HTTP client will send (an unparseable request
 * line); the answer is parsed just enough for the envelope checks.
 */
export function sendBytes(baseUrl: string, bytes: string, timeoutMs = 5_000): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = rest.join('\r\n\r\n');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, text: body, json });
    });
    socket.end(bytes);
  });
}
