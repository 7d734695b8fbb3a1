import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { ROOT } from './build';

export type ExitHow = NodeJS.Signals | number | null;

export interface ProcessSpec {
  /** A name for the report and messages: `command-api`, `projector`, ... */
  name: string;
  /** The compiled file to run with node. */
  file: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  /** True for the stdout JSON line that says the process is ready. */
  ready: (line: Record<string, unknown>) => boolean;
  readyTimeoutMs?: number;
}

/**
 * One child process of the system under test, spawned from the private build and watched:
 * it knows whether an exit was asked for (a fault the suite injected, a stop) or not (the
 * process died on its own), and keeps the end of its stderr for the report.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<ExitHow> = Promise.resolve(null);
  private stderrTail = '';
  private expectingExit = false;
  /** Where every run of this process appends its stderr, when set. */
  logFile: string | undefined;
  /** Called when the process exits without the suite having asked for it. */
  onUnplannedExit: (how: ExitHow, stderrTail: string) => void = () => undefined;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  stderr(): string {
    return this.stderrTail;
  }

  /** Spawns the process and resolves with its ready line; rejects if it exits first or takes too long. */
  start(): Promise<Record<string, unknown>> {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    this.expectingExit = false;
    let ready = false;
    const child = spawn(process.execPath, [this.spec.file, ...(this.spec.args ?? [])], {
      cwd: ROOT,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-16_000);
      if (this.logFile) appendFileSync(this.logFile, chunk);
    });
    if (this.logFile) appendFileSync(this.logFile, `--- ${new Date().toISOString()} started, pid ${child.pid}\n`);
    this.exitedPromise = new Promise<ExitHow>((done) => child.once('exit', (code, signal) => done(signal ?? code)));
    void this.exitedPromise.then((how) => {
      // A start that fails rejects its own promise; only a process that was up and died is unplanned.
      if (this.child === child && ready && !this.expectingExit) this.onUnplannedExit(how, this.stderrTail);
    });
    const timeoutMs = this.spec.readyTimeoutMs ?? 60_000;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        // A process that hangs at start is of no use: end it, and say why.
        this.expectingExit = true;
        child.kill('SIGKILL');
        reject(new Error(`${this.spec.name} was not ready within ${timeoutMs} ms: ${this.stderrTail.slice(-2_000)}`));
      }, timeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const lines = stdout.split('\n');
        stdout = lines.pop() ?? '';
        for (const line of lines) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(line);
          } catch {
            continue; // Not one of the app's JSON status lines.
          }
          if (typeof parsed === 'object' && parsed !== null && this.spec.ready(parsed as Record<string, unknown>)) {
            clearTimeout(timer);
            ready = true;
            resolve(parsed as Record<string, unknown>);
          }
        }
      });
      void this.exitedPromise.then((how) => {
        clearTimeout(timer);
        reject(new Error(`${this.spec.name} exited (${String(how)}) before it was ready: ${this.stderrTail.slice(-2_000)}`));
      });
    });
  }

  /** Sends a signal the suite means to send and waits for the process to exit. */
  async kill(signal: NodeJS.Signals): Promise<ExitHow> {
    if (!this.running) return this.exitedPromise;
    this.expectingExit = true;
    this.child!.kill(signal);
    return this.exitedPromise;
  }

  /** SIGTERM (a clean stop), then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<ExitHow> {
    if (!this.running) return this.exitedPromise;
    this.expectingExit = true;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    const how = await this.exitedPromise;
    clearTimeout(timer);
    return how;
  }

  /** Marks the next exit as expected, for a process that dies of a fault injected elsewhere. */
  expectExit(): void {
    this.expectingExit = true;
  }

  exited(): Promise<ExitHow> {
    return this.exitedPromise;
  }
}

/** A TCP port free at the moment of asking, for a process that must keep its port across restarts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
