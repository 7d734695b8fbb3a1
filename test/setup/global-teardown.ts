import type { EmbeddedPostgresHandle } from '../../libs/platform/src/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __embeddedPostgres?: EmbeddedPostgresHandle }).__embeddedPostgres;
  await server?.stop();
}
