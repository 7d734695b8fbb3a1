import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Equals, IsDefined, IsIn, IsOptional, IsString, Length, Matches, ValidateNested } from 'class-validator';
import { CHANNEL_PATTERN, REVIEW_DECISIONS, type ReviewDecision, type WithdrawalStatus } from '@ledger/domain';
import {
  ACCOUNT_NUMBER_PATTERN,
  BANK_CODE_PATTERN,
  IsAmount,
  IsCurrencyCode,
  IsEntityId,
  PRINTABLE_TEXT,
} from '../shared/validators';

export class BankAccountDestinationRequest {
  @ApiProperty({ enum: ['bank_account'] })
  @Equals('bank_account', { message: 'destination.type must be "bank_account"' })
  type!: 'bank_account';

  @ApiProperty({ description: '6 to 34 upper-case letters and digits, no spaces (IBAN or domestic).', example: 'DE89370400440532013000' })
  @IsString()
  @Matches(ACCOUNT_NUMBER_PATTERN, { message: 'accountNumber must be 6 to 34 upper-case letters and digits without spaces' })
  accountNumber!: string;

  @ApiProperty({ description: 'A BIC (8 or 11 characters) or a domestic bank code of 3 to 11 upper-case letters and digits.', example: 'COBADEFFXXX' })
  @IsString()
  @Matches(BANK_CODE_PATTERN, { message: 'bankCode must be 3 to 11 upper-case letters and digits' })
  bankCode!: string;

  @ApiProperty({ description: '1 to 140 printable characters.', example: 'Ada Lovelace' })
  @IsString()
  @Length(1, 140)
  @Matches(PRINTABLE_TEXT, { message: 'holderName must not contain control characters' })
  holderName!: string;
}

export class WithdrawalRequest {
  @ApiProperty({ example: 'acc-7f3c' })
  @IsEntityId()
  accountId!: string;

  @ApiProperty({ description: 'Minor units as a string of digits.', example: '2500' })
  @IsAmount()
  amount!: string;

  @ApiProperty({ example: 'EUR' })
  @IsCurrencyCode()
  currency!: string;

  @ApiProperty({ type: BankAccountDestinationRequest })
  @IsDefined()
  @ValidateNested()
  @Type(() => BankAccountDestinationRequest)
  destination!: BankAccountDestinationRequest;

  @ApiPropertyOptional({ description: 'A payment channel; routing chooses when absent.', example: 'sandbox' })
  @IsOptional()
  @IsString()
  @Matches(CHANNEL_PATTERN, { message: 'channel must be lower-case letters, digits and _ (at most 32), starting with a letter' })
  channel?: string;
}

export class CancelWithdrawalRequest {
  @ApiPropertyOptional({ description: 'Why, for the audit trail.', example: 'customer request' })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  @Matches(PRINTABLE_TEXT, { message: 'reason must not contain control characters' })
  reason?: string;
}

export class WithdrawalAcceptedResponse {
  @ApiProperty() withdrawalId!: string;
  @ApiProperty({ enum: ['requested', 'cancelled'] }) status!: 'requested' | 'cancelled';
  @ApiProperty() position!: string;
}

export class ReviewRequest {
  @ApiProperty({
    enum: REVIEW_DECISIONS,
    description:
      'retry: no attempt paid, start a new payout; fail: it will not be paid, the hold returns to available; settled: it was paid, the hold leaves the account.',
  })
  @IsIn(REVIEW_DECISIONS, { message: `decision must be one of ${REVIEW_DECISIONS.join(', ')}` })
  decision!: ReviewDecision;

  @ApiProperty({ description: 'Why, for the audit trail: 1 to 500 printable characters.', example: 'provider statement shows the payout paid' })
  @IsString()
  @Length(1, 500)
  @Matches(PRINTABLE_TEXT, { message: 'reason must not contain control characters' })
  reason!: string;
}

export class ReviewResolvedResponse {
  @ApiProperty() withdrawalId!: string;
  @ApiProperty({ enum: ['requested', 'failed', 'settled'], description: 'The status the decision moved the withdrawal to.' })
  status!: WithdrawalStatus;
  @ApiProperty({ description: 'Global position of the last event written: the money event when the decision moved money.' })
  position!: string;
}
