import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsLimit, IsPosition, LIMIT_DEFAULT, LIMIT_MAX } from './validators';

export const MIN_POSITION_DESCRIPTION =
  'Read your own write: the answer reflects at least this global position (the `position` a command returned). ' +
  'The request waits, bounded, for the projection; past the bound it is 503 projection_behind with Retry-After.';

/** The query every read accepts. */
export class ReadQuery {
  @ApiPropertyOptional({ pattern: '^(0|[1-9][0-9]{0,18})$', example: '1042', description: MIN_POSITION_DESCRIPTION })
  @IsOptional()
  @IsPosition()
  minPosition?: string;
}

/** The query of every list; each list declares its own `cursor`, whose kind it checks. */
export class PageQuery extends ReadQuery {
  @ApiPropertyOptional({ pattern: '^[1-9][0-9]{0,2}$', example: String(LIMIT_DEFAULT), description: `Items per page, 1 to ${LIMIT_MAX}; default ${LIMIT_DEFAULT}.` })
  @IsOptional()
  @IsLimit()
  limit?: string;
}

/** A page of a keyset-paginated list. */
export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * Splits the `limit + 1` rows a list query fetched into the page and its next cursor: the
 * extra row only says that there is more, so a last page that happens to be full does not
 * send the client on an empty extra round trip.
 */
export function toPage<Row, Item>(rows: Row[], limit: number, item: (row: Row) => Item, cursorOf: (row: Row) => string): Page<Item> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return { items: pageRows.map(item), nextCursor: more ? cursorOf(pageRows[pageRows.length - 1]!) : null };
}
