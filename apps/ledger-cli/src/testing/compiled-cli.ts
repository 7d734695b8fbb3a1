import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..', '..');

export interface CompiledCli {
  main: string;
  run(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<CliRun>;
  remove(): void;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI compiled as `npm run build` compiles it (decorator metadata, aliases rewritten),
 * but only its own graph and without type checking, into a private folder: the test must
 * neither wait for nor trip over the rest of the monorepo, nor race other users of `dist/`.
 * `npm run typecheck` checks the types. The tsconfig is written into that folder and
 * extends the project's build configuration. Test-only.
 */
export function compileCli(): CompiledCli {
  const outDir = mkdtempSync(join(tmpdir(), 'ledger-cli-e2e-'));
  const tsconfig = join(outDir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.build.json'),
      compilerOptions: { rootDir: root, outDir, typeRoots: [join(root, 'node_modules', '@types')] },
      files: [join(root, 'apps', 'ledger-cli', 'src', 'main.ts')],
      include: [],
    }),
  );
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', tsconfig, '--noCheck'], { cwd: root, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
  const alias = spawnSync(process.execPath, [join(root, 'node_modules', 'tsc-alias', 'dist', 'bin', 'index.js'), '-p', tsconfig, '--outDir', outDir], {
    cwd: root,
    encoding: 'utf8',
  });
  if (alias.status !== 0) throw new Error(`alias rewrite failed: ${alias.stdout}${alias.stderr}`);
  // The build lives outside the project; this link lets it resolve the project's packages.
  symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  const main = join(outDir, 'apps', 'ledger-cli', 'src', 'main.js');
  return {
    main,
    run: (args, env = {}) =>
      new Promise<CliRun>((resolve, reject) => {
        const child = spawn(process.execPath, [main, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      }),
    remove() {
      // Remove the link to the project's packages first, so nothing below can follow it.
      const link = join(outDir, 'node_modules');
      if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
