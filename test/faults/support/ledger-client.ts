/** What the client finally learnt from one logical request, after however many tries it took. */
export interface RequestRecord {
  seq: number;
  kind: 'open-account' | 'deposit' | 'withdrawal' | 'duplicate' | 'cancel' | 'replay' | 'review';
  method: 'POST';
  path: string;
  key: string;
  body: Record<string, unknown>;
  /** For `replay` and `duplicate`: the request whose key and body this one sent again. */
  replayOf?: number;
  startedAt: number;
  finishedAt?: number;
  tries: number;
  /** Why each try that was not final was retried: `ECONNREFUSED`, `timeout`, `503 event_store_unavailable`, ... */
  transient: string[];
  /** When each of those tries ended (epoch ms), to tell which fault a client saw. */
  transientAt: number[];
  status?: number;
  response?: Record<string, unknown>;
  /** The answer carried `Idempotent-Replayed: true`. */
  replayed?: boolean;
  /** Still without a final answer when its deadline passed. */
  gaveUp?: boolean;
}

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  /** One try's deadline. */
  tryTimeoutMs: number;
  /** The whole request's deadline, retries included. */
  deadlineMs: number;
}

/**
 * A client of the command API that behaves as a careful real one does: it sends every POST
 * with an Idempotency-Key, and when a try fails without a definitive answer (a refused or
 * reset connection, a timeout, a 5xx, `409 idempotency_key_in_use`, a 429) it sends the SAME
 * request with the SAME key again, with backoff, until it gets one. A 2xx or any other 4xx
 * is the request's final answer.
 */
export class LedgerClient {
  readonly records: RequestRecord[] = [];
  private seq = 0;

  constructor(private readonly options: ClientOptions) {}

  async post(kind: RequestRecord['kind'], path: string, key: string, body: Record<string, unknown>, replayOf?: number): Promise<RequestRecord> {
    const record: RequestRecord = {
      seq: (this.seq += 1),
      kind,
      method: 'POST',
      path,
      key,
      body,
      ...(replayOf === undefined ? {} : { replayOf }),
      startedAt: Date.now(),
      tries: 0,
      transient: [],
      transientAt: [],
    };
    this.records.push(record);
    const deadline = record.startedAt + this.options.deadlineMs;
    for (let backoffMs = 50; ; backoffMs = Math.min(backoffMs * 2, 1_000)) {
      record.tries += 1;
      const outcome = await this.try(path, key, body);
      if ('final' in outcome) {
        record.status = outcome.final.status;
        record.response = outcome.final.body;
        record.replayed = outcome.final.replayed;
        record.finishedAt = Date.now();
        return record;
      }
      record.transient.push(outcome.transient);
      record.transientAt.push(Date.now());
      if (Date.now() + backoffMs > deadline) {
        record.gaveUp = true;
        record.finishedAt = Date.now();
        return record;
      }
      await new Promise((done) => setTimeout(done, backoffMs + Math.floor(Math.random() * backoffMs)));
    }
  }

  private async try(
    path: string,
    key: string,
    body: Record<string, unknown>,
  ): Promise<{ final: { status: number; body: Record<string, unknown>; replayed: boolean } } | { transient: string }> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.options.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.tryTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return { transient: networkReason(error) };
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { unparsable: text.slice(0, 200) };
    }
    const code = errorCode(parsed);
    const status = response.status;
    if (status >= 500 || status === 408 || status === 429 || (status === 409 && code === 'idempotency_key_in_use')) {
      return { transient: `${status} ${code ?? ''}`.trim() };
    }
    return { final: { status, body: parsed, replayed: response.headers.get('idempotent-replayed') === 'true' } };
  }
}

export function errorCode(body: Record<string, unknown> | undefined): string | undefined {
  const error = body?.error as { code?: unknown } | undefined;
  return typeof error?.code === 'string' ? error.code : undefined;
}

function networkReason(error: unknown): string {
  const failure = error as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (failure?.name === 'TimeoutError' || failure?.name === 'AbortError') return 'timeout';
  return failure?.cause?.code ?? failure?.code ?? failure?.cause?.name ?? failure?.name ?? 'network_error';
}

/** GET on the read API, with retries on anything but a definitive answer. */
export async function readJson<T>(baseUrl: string, apiKey: string, path: string, attempts = 20): Promise<{ status: number; body: T }> {
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as T;
      if (response.status < 500) return { status: response.status, body };
      last = `${response.status} ${JSON.stringify(body).slice(0, 200)}`;
    } catch (error) {
      last = networkReason(error);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`GET ${path} kept failing: ${last}`);
}
