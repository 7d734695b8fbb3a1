import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root, from apps/projector/src/payouts/testing. */
export const ROOT = join(__dirname, '..', '..', '..', '..', '..');

/**
 * Entry points compiled as production runs them (JavaScript, aliases rewritten), into a
 * private folder, so process-level tests neither race with nor depend on other users of
 * `dist/`. Test-only. Apps are started as processes, never imported: apps do not import
 * each other, and a process is also what a SIGKILL test needs.
 */
export class CompiledApps {
  private constructor(readonly outDir: string) {}

  /** Compiles the given entry files (paths from the repository root) and what they import. */
  static build(entries: readonly string[]): CompiledApps {
    const outDir = mkdtempSync(join(tmpdir(), 'payouts-e2e-'));
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
    // Transpiled without type checking: `npm run typecheck` checks types, and this build must
    // not wait for or trip over the rest of the monorepo.
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project, '--noCheck'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
    const alias = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsc-alias', 'dist', 'bin', 'index.js'), '-p', project, '--outDir', outDir], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (alias.status !== 0) throw new Error(`alias rewrite failed: ${alias.stdout}${alias.stderr}`);
    // The build lives outside the project; this link lets it resolve the project's packages.
    symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'), 'dir');
    return new CompiledApps(outDir);
  }

  /** Starts a compiled entry (`apps/x/src/main.ts` names `apps/x/src/main.js`) and waits for `ready` on its stdout. */
  start(entry: string, env: NodeJS.ProcessEnv, ready: (line: Record<string, unknown>) => boolean): RunningApp {
    const child = spawn(process.execPath, [join(this.outDir, entry.replace(/\.ts$/, '.js'))], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((done) => child.once('exit', (code, signal) => done(signal ?? code)));
    const started = new Promise<Record<string, unknown>>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        for (const line of stdout.split('\n').slice(0, -1)) {
          try {
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (ready(parsed)) resolve(parsed);
          } catch {
            // Not one of the app's JSON status lines.
          }
        }
      });
      void exited.then((how) => reject(new Error(`${entry} exited (${String(how)}) before it was ready: ${stderr}`)));
    });
    started.catch(() => undefined);
    return { child, started, exited, stderr: () => stderr };
  }

  /** Removes the build; the link to the project's packages goes first, so nothing below can follow it. */
  remove(): void {
    const link = join(this.outDir, 'node_modules');
    if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
    rmSync(this.outDir, { recursive: true, force: true });
  }
}

export interface RunningApp {
  child: ChildProcess;
  started: Promise<Record<string, unknown>>;
  exited: Promise<NodeJS.Signals | number | null>;
  stderr(): string;
}
