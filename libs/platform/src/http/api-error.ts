import { ApiProperty } from '@nestjs/swagger';

/**
 * The one error every HTTP answer of ours is made of. `code` is the stable, machine-readable
 * name of the rule that was broken (`insufficient_funds`, `validation_failed`); clients branch
 * on it, so a code once published never changes meaning. `message` is for humans and may
 * change. `details` carries structured facts a client can act on (the failed fields, the
 * required scopes) and must never carry secrets or internals.
 *
 * `headers` lets a rejection carry the response headers its status calls for (`Retry-After`
 * on 429, `WWW-Authenticate` on 401), so the filter that writes the answer stays generic.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      // An error with a success status would be answered as a success: refuse it where it is made.
      throw new RangeError(`ApiError status must be 4xx or 5xx, got ${status}`);
    }
  }
}

/** The JSON body of every error answer (ARCHITECTURE.md §5). */
export interface ApiErrorResponseBody {
  error: { code: string; message: string; details: Record<string, unknown> };
  requestId: string;
}

/** OpenAPI schema of the `error` member; for `@ApiResponse({ type: ApiErrorResponse })`. */
export class ApiErrorBody {
  @ApiProperty({ example: 'validation_failed', description: 'Stable machine-readable code of the broken rule.' })
  code!: string;

  @ApiProperty({ example: 'The request body is invalid.', description: 'Human-readable explanation; may change.' })
  message!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Structured facts about the error.' })
  details!: Record<string, unknown>;
}

/** OpenAPI schema of an error answer. */
export class ApiErrorResponse {
  @ApiProperty({ type: () => ApiErrorBody })
  error!: ApiErrorBody;

  @ApiProperty({ format: 'uuid', description: 'Also sent as the X-Request-Id header; quote it to support.' })
  requestId!: string;
}
