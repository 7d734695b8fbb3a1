import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import type { CommandContext } from '../shared/command-context';
import { PRINTABLE_TEXT } from '../shared/validators';

export class ResolveDiscrepancyRequest {
  @ApiProperty({ description: 'Why, for the audit trail: 1 to 500 printable characters.', example: 'provider fee deducted; confirmed with the provider' })
  @IsString()
  @Length(1, 500)
  @Matches(PRINTABLE_TEXT, { message: 'reason must not contain control characters' })
  reason!: string;
}

export class DiscrepancyResolvedResponse {
  @ApiProperty({ example: 'bank_one' }) channel!: string;
  @ApiProperty({ example: '2026-11-23' }) date!: string;
  @ApiProperty({ example: '3f2a9c0d1e2b4a5c-D0001' }) discrepancyId!: string;
  @ApiProperty({ enum: ['resolved'] }) state!: 'resolved';
  @ApiProperty({ description: 'The operator\'s reason.' }) resolution!: string;
  @ApiProperty({ example: '2026-11-24T09:12:00.000Z' }) resolvedAt!: string;
  @ApiProperty({ example: 'api-key:ops' }) resolvedBy!: string;
  @ApiProperty({ description: 'Global position of the DiscrepancyResolved event: pass it as minPosition to the read API.' })
  position!: string;
}

export class ResolveDiscrepancyCommand {
  constructor(
    readonly channel: string,
    readonly date: string,
    readonly discrepancyId: string,
    readonly reason: string,
    readonly context: CommandContext,
  ) {}
}
