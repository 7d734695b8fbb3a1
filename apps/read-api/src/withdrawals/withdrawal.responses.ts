import { ApiProperty } from '@nestjs/swagger';
import { WITHDRAWAL_STATUSES } from '@ledger/domain';

export class WithdrawalSummaryResponse {
  @ApiProperty({ example: '3f0c…' })
  withdrawalId!: string;

  @ApiProperty({ example: 'acc-42' })
  accountId!: string;

  @ApiProperty({ example: '1050', description: 'Minor units, a string of digits.' })
  amount!: string;

  @ApiProperty({ example: 'EUR' })
  currency!: string;

  @ApiProperty({ enum: WITHDRAWAL_STATUSES })
  status!: string;

  @ApiProperty({ type: String, nullable: true, example: 'bank_one' })
  channel!: string | null;

  @ApiProperty({ type: String, nullable: true })
  providerReference!: string | null;

  @ApiProperty({ example: 1, description: 'Payout attempts so far.' })
  attempt!: number;

  @ApiProperty({ example: '2026-11-23T10:41:00.123Z' })
  requestedAt!: string;

  @ApiProperty({ example: '2026-11-23T10:41:02.456Z' })
  updatedAt!: string;

  @ApiProperty({ example: '1042', description: 'Global position of the last event applied to this withdrawal.' })
  position!: string;
}

export class StatusHistoryEntryResponse {
  @ApiProperty({ example: '1042' })
  position!: string;

  @ApiProperty({ example: 'Settled' })
  eventType!: string;

  @ApiProperty({ type: String, nullable: true, example: 'processing', description: 'Null for the event that created the withdrawal.' })
  fromStatus!: string | null;

  @ApiProperty({ example: 'settled' })
  toStatus!: string;

  @ApiProperty({ description: 'False for an event that was recorded and ignored (it would have moved the status backwards).' })
  applied!: boolean;

  @ApiProperty({ type: String, nullable: true })
  note!: string | null;

  @ApiProperty({ example: '2026-11-23T10:41:02.456Z' })
  recordedAt!: string;
}

export class WithdrawalResponse extends WithdrawalSummaryResponse {
  @ApiProperty({ type: [StatusHistoryEntryResponse], description: 'Every status event in log order, applied and ignored.' })
  history!: StatusHistoryEntryResponse[];
}

export class WithdrawalPageResponse {
  @ApiProperty({ type: [WithdrawalSummaryResponse] })
  items!: WithdrawalSummaryResponse[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass back as cursor for the next page; null on the last page.' })
  nextCursor!: string | null;
}
