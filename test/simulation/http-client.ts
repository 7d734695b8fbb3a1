/** One HTTP answer, body parsed when it is JSON. */
export interface Answer {
  status: number;
  body: AnswerBody;
  text: string;
  replayed: boolean;
}

export interface AnswerBody {
  [field: string]: unknown;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

/** POSTs JSON with an API key and an Idempotency-Key, as a client of the command API does. */
export async function postCommand(
  baseUrl: string,
  path: string,
  body: unknown,
  options: { apiKey: string; idempotencyKey: string },
): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${options.apiKey}`,
      'idempotency-key': options.idempotencyKey,
    },
    body: JSON.stringify(body),
  });
  return answerOf(response);
}

/** POSTs raw bytes to the callback endpoint with the given headers, exactly as given. */
export async function postCallback(baseUrl: string, channel: string, rawBody: string, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${baseUrl}/v1/callbacks/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: rawBody,
  });
  return answerOf(response);
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: AnswerBody = {};
  try {
    body = text ? (JSON.parse(text) as AnswerBody) : {};
  } catch {
    body = { unparsed: text };
  }
  return { status: response.status, body, text, replayed: response.headers.get('idempotent-replayed') === 'true' };
}

/** Runs `work` for each item with at most `limit` at once, in the items' order of start. */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index]!, index);
    }
  });
  await Promise.all(lanes);
}
