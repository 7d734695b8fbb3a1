/**
 * Fail points for fault-injection tests, in the manner of FoundationDB's and TiKV's: named
 * places in the code where a test can make the process die or fail on purpose, such as
 * "after the append committed, before the answer was sent". Off unless LEDGER_FAILPOINTS
 * names them (`name=kill` or `name=throw`, comma-separated), so production pays one Map
 * lookup per point.
 */
type FailAction = 'kill' | 'throw';

const configured: ReadonlyMap<string, FailAction> = parseFailpoints(process.env.LEDGER_FAILPOINTS);

export class FailpointTriggered extends Error {}

export function failpoint(name: string): void {
  const action = configured.get(name);
  if (action === undefined) return;
  if (action === 'kill') {
    process.stderr.write(`failpoint ${name}: SIGKILL\n`);
    process.kill(process.pid, 'SIGKILL');
  }
  throw new FailpointTriggered(`failpoint ${name}`);
}

export function parseFailpoints(spec: string | undefined): Map<string, FailAction> {
  const points = new Map<string, FailAction>();
  for (const entry of (spec ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const [name, action] = entry.split('=');
    if (!name || (action !== 'kill' && action !== 'throw')) {
      throw new Error(`LEDGER_FAILPOINTS: "${entry}" is not name=kill or name=throw`);
    }
    points.set(name, action);
  }
  return points;
}
