import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { IsAmount, IsCurrencyCode, IsEntityId, PRINTABLE_TEXT } from '../shared/validators';

export class OpenAccountRequest {
  @ApiPropertyOptional({ description: 'Chosen by the caller, or derived from the Idempotency-Key when absent.', example: 'acc-7f3c' })
  @IsOptional()
  @IsEntityId()
  accountId?: string;

  @ApiProperty({ description: 'The owner in the calling system.', example: 'user-42' })
  @IsEntityId()
  ownerId!: string;

  @ApiProperty({ description: 'ISO-4217 code; the account holds only this currency.', example: 'EUR' })
  @IsCurrencyCode()
  currency!: string;
}

export class DepositRequest {
  @ApiProperty({ description: 'Minor units as a string of digits: "1050" is 10.50 EUR.', example: '1050' })
  @IsAmount()
  amount!: string;

  @ApiProperty({ example: 'EUR' })
  @IsCurrencyCode()
  currency!: string;

  @ApiProperty({ description: 'The payer-side reference, 1 to 200 printable characters.', example: 'SEPA-2026-11-23-0001' })
  @IsString()
  @Length(1, 200)
  @Matches(PRINTABLE_TEXT, { message: 'reference must not contain control characters' })
  reference!: string;
}

export class ReasonRequest {
  @ApiProperty({ description: '1 to 500 printable characters, kept in the audit trail.', example: 'KYC review' })
  @IsString()
  @Length(1, 500)
  @Matches(PRINTABLE_TEXT, { message: 'reason must not contain control characters' })
  reason!: string;
}

export class OpenAccountResponse {
  @ApiProperty() accountId!: string;
  @ApiProperty() currency!: string;
  @ApiProperty({ description: 'Global position of the append; pass it as minPosition to the read API.' }) position!: string;
}

export class DepositResponse {
  @ApiProperty() depositId!: string;
  @ApiProperty() position!: string;
}

export class FreezeResponse {
  @ApiProperty() accountId!: string;
  @ApiProperty() frozen!: boolean;
  @ApiProperty() position!: string;
}
