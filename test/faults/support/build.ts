import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root, from test/faults/support. */
export const ROOT = join(__dirname, '..', '..', '..');

/** Every process the fault suite runs, as entry files from the repository root. */
export const ENTRIES = {
  postgres: 'test/faults/support/postgres-server.ts',
  sandbox: 'apps/sandbox-provider/src/main.ts',
  commandApi: 'apps/ledger-api/src/main.ts',
  projector: 'apps/projector/src/main.ts',
  readApi: 'apps/read-api/src/main.ts',
  cli: 'apps/ledger-cli/src/main.ts',
} as const;

/**
 * The entry points compiled once, as production runs them (JavaScript, aliases rewritten),
 * into a private folder under the system temp folder, so the suite neither races with nor
 * depends on other users of `dist/`. Transpiled without type checking: `npm run typecheck`
 * checks types, and this build must not wait for the rest of the monorepo.
 */
export class CompiledBuild {
  private constructor(readonly outDir: string) {}

  static build(entries: readonly string[]): CompiledBuild {
    const outDir = mkdtempSync(join(tmpdir(), 'ledger-faults-build-'));
    const project = join(outDir, 'tsconfig.json');
    writeFileSync(
      project,
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.build.json'),
        compilerOptions: { rootDir: ROOT, outDir, baseUrl: ROOT, typeRoots: [join(ROOT, 'node_modules', '@types')] },
        files: entries.map((entry) => join(ROOT, entry)),
        include: [],
      }),
    );
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project, '--noCheck'], { cwd: ROOT, encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
    const alias = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsc-alias', 'dist', 'bin', 'index.js'), '-p', project, '--outDir', outDir], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (alias.status !== 0) throw new Error(`alias rewrite failed: ${alias.stdout}${alias.stderr}`);
    // The build lives outside the project; this link lets it resolve the project's packages.
    symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
    return new CompiledBuild(outDir);
  }

  /** The compiled file of an entry: `apps/x/src/main.ts` is `<outDir>/apps/x/src/main.js`. */
  file(entry: string): string {
    return join(this.outDir, entry.replace(/\.ts$/, '.js'));
  }

  /** Removes the build; the link to the project's packages goes first, so nothing below can follow it. */
  remove(): void {
    const link = join(this.outDir, 'node_modules');
    if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
    rmSync(this.outDir, { recursive: true, force: true });
  }
}
