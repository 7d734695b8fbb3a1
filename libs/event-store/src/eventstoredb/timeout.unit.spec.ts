import { EventStoreTimeout } from '../errors';
import { sleep, withTimeout } from './timeout';

describe('withTimeout (the backstop behind the client deadlines)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('rejects a call that never answers once the timeout has passed, and not before', async () => {
    const never = new Promise<string>(() => undefined);
    const onTimeout = jest.fn();
    const guarded = withTimeout(never, { operation: 'append', timeoutMs: 5_000, onTimeout });
    let outcome: unknown;
    guarded.catch((error: unknown) => (outcome = error));

    await jest.advanceTimersByTimeAsync(4_999);
    expect(outcome).toBeUndefined();
    expect(onTimeout).not.toHaveBeenCalled();

    await jest.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(EventStoreTimeout);
    expect(outcome).toMatchObject({ operation: 'append', timeoutMs: 5_000 });
    expect(onTimeout).toHaveBeenCalledTimes(1);
    // Nothing is left scheduled that would keep Node running.
    expect(jest.getTimerCount()).toBe(0);
  });

  it('reports the configured deadline when the backstop fires later than it', async () => {
    const guarded = withTimeout(new Promise(() => undefined), {
      operation: 'append',
      timeoutMs: 5_500,
      reportedTimeoutMs: 5_000,
    });
    const assertion = expect(guarded).rejects.toMatchObject({ timeoutMs: 5_000 });
    await jest.advanceTimersByTimeAsync(5_500);
    await assertion;
  });

  it('settles with the call and clears its timer when the call answers in time', async () => {
    const guarded = withTimeout(Promise.resolve('done'), { operation: 'readAll', timeoutMs: 5_000 });
    await expect(guarded).resolves.toBe('done');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('passes on the call own error and clears its timer', async () => {
    const failure = new Error('refused');
    await expect(withTimeout(Promise.reject(failure), { operation: 'readAll', timeoutMs: 5_000 })).rejects.toBe(
      failure,
    );
    expect(jest.getTimerCount()).toBe(0);
  });

  it('absorbs a rejection that arrives after the timeout instead of leaving it unhandled', async () => {
    let fail!: (error: Error) => void;
    const late = new Promise<never>((_resolve, reject) => (fail = reject));
    const guarded = withTimeout(late, { operation: 'append', timeoutMs: 10 });
    const assertion = expect(guarded).rejects.toBeInstanceOf(EventStoreTimeout);
    await jest.advanceTimersByTimeAsync(10);
    await assertion;
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      fail(new Error('cancelled on client'));
      await jest.advanceTimersByTimeAsync(0);
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('still rejects when the cleanup it runs throws', async () => {
    const guarded = withTimeout(new Promise(() => undefined), {
      operation: 'readStream',
      timeoutMs: 10,
      onTimeout: () => {
        throw new Error('cancel failed');
      },
    });
    const assertion = expect(guarded).rejects.toBeInstanceOf(EventStoreTimeout);
    await jest.advanceTimersByTimeAsync(10);
    await assertion;
  });
});

describe('sleep', () => {
  it('ends early, and clears its timer, when the signal aborts', async () => {
    jest.useFakeTimers();
    try {
      const controller = new AbortController();
      let woke = false;
      void sleep(60_000, controller.signal).then(() => (woke = true));
      controller.abort();
      await jest.advanceTimersByTimeAsync(0);
      expect(woke).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
