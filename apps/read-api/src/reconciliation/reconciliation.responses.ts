import { ApiProperty } from '@nestjs/swagger';
import { DISCREPANCY_KINDS } from '@ledger/domain';

export const FINDING_OUTCOMES = ['matched', ...DISCREPANCY_KINDS] as const;
export const REVIEW_STATES = ['open', 'resolved', 'superseded'] as const;

/** One import of a statement for the channel and day. */
export class StatementResponse {
  @ApiProperty({ description: 'SHA-256 (hex) of the normalised statement.', example: '3f2a9c0d1e2b4a5c...' })
  statementId!: string;

  @ApiProperty({ description: 'True for the statement the findings currently stand on.' })
  current!: boolean;

  @ApiProperty({ description: 'Statement lines.' }) itemCount!: number;
  @ApiProperty() matchedCount!: number;
  @ApiProperty() discrepancyCount!: number;

  @ApiProperty({ type: String, nullable: true, description: 'The statement this import replaced.' })
  supersedes!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The statement that replaced this one.' })
  supersededBy!: string | null;

  @ApiProperty({ type: String, nullable: true }) supersededAt!: string | null;
  @ApiProperty({ example: '2026-11-24T06:00:00.000Z' }) importedAt!: string;
  @ApiProperty({ example: 'cli:alice' }) importedBy!: string;
}

/** A finding: a matched statement line, or a discrepancy. Amounts are digit strings of minor units. */
export class FindingResponse {
  @ApiProperty({ description: 'discrepancyId for a discrepancy, itemId for a matched line.' })
  findingId!: string;

  @ApiProperty({ enum: FINDING_OUTCOMES }) outcome!: string;
  @ApiProperty({ type: String, nullable: true, description: 'The statement line\'s item; null for missing_in_statement.' }) itemId!: string | null;
  @ApiProperty({ type: String, nullable: true }) discrepancyId!: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Line of the statement file (the header is line 1).' }) line!: number | null;
  @ApiProperty({ type: String, nullable: true }) withdrawalId!: string | null;
  @ApiProperty({ type: String, nullable: true }) providerReference!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '1200' }) amountStatement!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '1000' }) amountLedger!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The statement\'s currency, or the ledger\'s when the statement lacks the item.' }) currency!: string | null;
  @ApiProperty({ type: String, nullable: true }) currencyLedger!: string | null;
  @ApiProperty({ type: String, nullable: true, enum: ['settled', 'returned'] }) statusStatement!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The ledger\'s booking, or the withdrawal\'s status for a status mismatch.' }) statusLedger!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'What was compared and where the other side is.' }) note!: string | null;
  @ApiProperty() foundAt!: string;
  @ApiProperty({ type: String, nullable: true, enum: REVIEW_STATES, description: 'Discrepancies only.' }) reviewState!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolvedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolvedBy!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolution!: string | null;
  @ApiProperty({ example: '1042' }) position!: string;
}

export class ReconciliationSummaryResponse {
  @ApiProperty({ description: 'Findings by outcome: matched and each discrepancy kind, zeros included.', example: { matched: 41, amount_mismatch: 1 } })
  outcomes!: Record<string, number>;

  @ApiProperty({ description: 'Discrepancies by review state.', example: { open: 1, resolved: 0, superseded: 0 } })
  review!: Record<string, number>;
}

export class ReconciliationReportResponse {
  @ApiProperty({ example: 'bank_one' }) channel!: string;
  @ApiProperty({ example: '2026-11-23' }) date!: string;

  @ApiProperty({ type: StatementResponse, description: 'The statement shown: the current one, or the one asked for with statementId.' })
  statement!: StatementResponse;

  @ApiProperty({ type: ReconciliationSummaryResponse }) summary!: ReconciliationSummaryResponse;

  @ApiProperty({ type: [FindingResponse], description: 'The statement\'s findings: lines in file order, then what the statement lacks.' })
  items!: FindingResponse[];

  @ApiProperty({ type: [StatementResponse], description: 'Every import for the channel and day, oldest first: the audit trail.' })
  statements!: StatementResponse[];

  @ApiProperty({ description: 'The last event applied to this reconciliation.', example: '1042' })
  position!: string;
}

export class DiscrepancyResponse {
  @ApiProperty({ example: 'bank_one' }) channel!: string;
  @ApiProperty({ example: '2026-11-23' }) date!: string;
  @ApiProperty() discrepancyId!: string;
  @ApiProperty() statementId!: string;
  @ApiProperty({ enum: DISCREPANCY_KINDS }) kind!: string;
  @ApiProperty({ type: Number, nullable: true }) line!: number | null;
  @ApiProperty({ type: String, nullable: true }) withdrawalId!: string | null;
  @ApiProperty({ type: String, nullable: true }) providerReference!: string | null;
  @ApiProperty({ type: String, nullable: true }) amountStatement!: string | null;
  @ApiProperty({ type: String, nullable: true }) amountLedger!: string | null;
  @ApiProperty({ type: String, nullable: true }) currency!: string | null;
  @ApiProperty({ type: String, nullable: true }) currencyLedger!: string | null;
  @ApiProperty({ type: String, nullable: true }) statusStatement!: string | null;
  @ApiProperty({ type: String, nullable: true }) statusLedger!: string | null;
  @ApiProperty() note!: string;
  @ApiProperty() foundAt!: string;
  @ApiProperty({ enum: REVIEW_STATES }) state!: string;
  @ApiProperty({ type: String, nullable: true }) resolvedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolvedBy!: string | null;
  @ApiProperty({ type: String, nullable: true }) resolution!: string | null;
  @ApiProperty({ example: '1042' }) position!: string;
}

export class DiscrepancyPageResponse {
  @ApiProperty({ type: [DiscrepancyResponse] }) items!: DiscrepancyResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
