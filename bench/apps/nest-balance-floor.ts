import 'reflect-metadata';
import { Controller, Get, Inject, Module, NotFoundException, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';

/**
 * The framework floor for `http-balance-reads`: the same lookup in a bare NestJS 11 app on
 * Express, with no middleware, guard, pipe, interceptor or logger of ours. The gap between
 * it and the bare node:http roofline is Nest's and Express's; the gap between it and the
 * read API is ours.
 */
const POOL = Symbol('pool');

@Controller('v1/accounts')
class BalanceController {
  constructor(@Inject(POOL) private readonly pool: Pool) {}

  @Get(':id/balance')
  async balance(@Param('id') id: string): Promise<Record<string, string>> {
    const { rows } = await this.pool.query({
      name: 'balance',
      text: 'select account_id, currency, available::text, pending::text, position::text from read_models.account_balances where account_id = $1',
      values: [id],
    });
    const row = rows[0] as Record<string, string> | undefined;
    if (!row) throw new NotFoundException();
    return { accountId: row.account_id!, currency: row.currency!, available: row.available!, pending: row.pending!, position: row.position! };
  }
}

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 16) });
  pool.on('error', () => undefined);
  @Module({ controllers: [BalanceController], providers: [{ provide: POOL, useValue: pool }] })
  class FloorModule {}
  // FLOOR_ADAPTER=fastify measures the same app on @nestjs/platform-fastify (when installed).
  const app =
    process.env.FLOOR_ADAPTER === 'fastify'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        await NestFactory.create(FloorModule, new (require('@nestjs/platform-fastify').FastifyAdapter)(), { logger: false })
      : await NestFactory.create(FloorModule, { logger: false });
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`${JSON.stringify({ listening: address.port })}\n`);
  process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
}

void main();
