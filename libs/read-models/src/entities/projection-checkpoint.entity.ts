import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/** How far each projection has applied the global log. Written only by the projector, in the batch's own transaction. */
@Entity({ schema: 'read_models', name: 'projection_checkpoints' })
export class ProjectionCheckpointEntity {
  @PrimaryColumn({ type: 'text' })
  projection!: string;

  /** The global position of the last event applied; 0 before the first. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
