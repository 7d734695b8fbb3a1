import { CreateReadModels1764000000000 } from './1764000000000-create-read-models';
import { CreateReconciliation1764100000000 } from './1764100000000-create-reconciliation';

/** Every read-model migration in order. TypeORM runs the ones its migrations table lacks. */
export const READ_MODEL_MIGRATIONS = [CreateReadModels1764000000000, CreateReconciliation1764100000000] as const;

export { CreateReadModels1764000000000, CreateReconciliation1764100000000 };
