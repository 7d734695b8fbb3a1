import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public, setResponseHeader } from '@ledger/platform';
import { LedgerApiMetrics } from './ledger-api-metrics';

/**
 * Prometheus text at /metrics. Public, like the health checks: scrapers rarely carry API
 * keys, and nothing here is per customer (route patterns, channels, counts). Keep the port
 * off the public internet, or put /metrics behind the proxy's own access rule.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(LedgerApiMetrics) private readonly metrics: LedgerApiMetrics) {}

  @Get()
  async scrape(@Res({ passthrough: true }) res: unknown): Promise<string> {
    const text = await this.metrics.registry.metrics();
    setResponseHeader(res, 'Content-Type', this.metrics.registry.contentType);
    setResponseHeader(res, 'Cache-Control', 'no-store');
    return text;
  }
}
