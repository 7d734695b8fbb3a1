import { ApiProperty } from '@nestjs/swagger';

export class BalanceResponse {
  @ApiProperty({ example: 'acc-42' })
  accountId!: string;

  @ApiProperty({ example: 'EUR' })
  currency!: string;

  @ApiProperty({ example: '98950', description: 'Spendable amount in minor units, a string of digits.' })
  available!: string;

  @ApiProperty({ example: '1050', description: 'Held by withdrawals in flight, in minor units.' })
  pending!: string;

  @ApiProperty({ example: '1042', description: 'Global position of the last event that changed this account.' })
  position!: string;
}

export class JournalEntryResponse {
  @ApiProperty({ example: '1042', description: 'Global position of the event that made the posting.' })
  position!: string;

  @ApiProperty({ example: 0, description: 'Index of the posting within its event.' })
  postingIndex!: number;

  @ApiProperty({ example: 'account:acc-42:available' })
  ledgerAccount!: string;

  @ApiProperty({ enum: ['debit', 'credit'] })
  side!: string;

  @ApiProperty({ example: '1050' })
  amount!: string;

  @ApiProperty({ example: 'EUR' })
  currency!: string;

  @ApiProperty({ example: 'Debited' })
  eventType!: string;

  @ApiProperty({ example: '2026-11-23T10:41:00.123Z' })
  recordedAt!: string;
}

export class JournalPageResponse {
  @ApiProperty({ type: [JournalEntryResponse] })
  items!: JournalEntryResponse[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass back as cursor for the next page; null on the last page.' })
  nextCursor!: string | null;
}
