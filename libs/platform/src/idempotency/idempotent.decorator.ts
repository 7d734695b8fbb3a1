import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IDEMPOTENT_METADATA } from './options';

/**
 * Marks a handler (or every handler of a controller) as requiring an Idempotency-Key: the
 * first request runs, retries get its stored answer. Needs `IdempotencyModule.forRoot()`
 * in the application and authentication that runs before interceptors.
 */
export function Idempotent(): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(IDEMPOTENT_METADATA, true), UseInterceptors(IdempotencyInterceptor));
}
