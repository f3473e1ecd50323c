import { getEventListeners } from 'node:events';
import type { Client } from '@temporalio/client';
import { GovernorClient } from '../../src/activities/governor-client';
import type { GovernorState } from '../../src/workflows/contract';

/**
 * The governor client's read path: one query for many concurrent readers, and bounded waits for callers
 * that must not wait on Temporal. The Temporal client is replaced by one whose query answers when the test
 * says so (the workflow side is covered against a real server in fleet-controls.test.ts).
 */
function fakeTemporal() {
  const queries: ((s: GovernorState) => void)[] = [];
  const client = {
    // As the SDK's: the call runs under the signal, and aborting it ends the call rejected.
    withAbortSignal: <R>(signal: AbortSignal, fn: () => Promise<R>) =>
      Promise.race([
        fn(),
        new Promise<R>((_, reject) => signal.addEventListener('abort', () => reject(new Error('call aborted')))),
      ]),
    workflow: {
      getHandle: () => ({
        query: () => new Promise<GovernorState>((resolve) => queries.push(resolve)),
      }),
    },
  } as unknown as Client;
  const state = (engaged: boolean): GovernorState => ({ killSwitch: { engaged }, breakers: {}, changes: [] });
  return { client, queries, state };
}

describe('GovernorClient reads', () => {
  it('leaves no listener behind on its closing signal, however many reads it makes', async () => {
    const t = fakeTemporal();
    const g = new GovernorClient(t.client, 'gov', 'q', 60_000);
    for (let i = 0; i < 25; i++) {
      const read = g.state(true);
      t.queries[i]!(t.state(false));
      await read;
    }
    const closing = (g as unknown as { closing: AbortController }).closing.signal;
    expect(getEventListeners(closing, 'abort')).toHaveLength(0);
    // Closing still ends a read in flight.
    const pending = g.state(true);
    const closed = g.close();
    await expect(pending).rejects.toThrow('call aborted');
    await closed;
  });

  it('sends one query for any number of concurrent readers, and caches the answer', async () => {
    const t = fakeTemporal();
    const g = new GovernorClient(t.client, 'gov', 'q', 60_000);
    const readers = Array.from({ length: 50 }, () => g.state());
    expect(t.queries).toHaveLength(1);
    t.queries[0]!(t.state(true));
    for (const s of await Promise.all(readers)) expect(s.killSwitch.engaged).toBe(true);
    await g.state();
    expect(t.queries).toHaveLength(1);
  });

  it('answers a caller who asked for fresh state with a query sent after it asked', async () => {
    const t = fakeTemporal();
    const g = new GovernorClient(t.client, 'gov', 'q', 60_000);
    const early = g.state();
    await new Promise((r) => setTimeout(r, 5));
    const fresh = g.state(true);
    expect(t.queries).toHaveLength(2);
    t.queries[0]!(t.state(false));
    t.queries[1]!(t.state(true));
    expect((await early).killSwitch.engaged).toBe(false);
    expect((await fresh).killSwitch.engaged).toBe(true);
    // The older answer arriving first did not outlive the newer one in the cache.
    expect((await g.state()).killSwitch.engaged).toBe(true);
  });

  it('stateWithin gives up after its wait (the query goes on and fills the cache), and uses the cache', async () => {
    const t = fakeTemporal();
    const g = new GovernorClient(t.client, 'gov', 'q', 60_000);
    const started = Date.now();
    expect(await g.stateWithin(50)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(t.queries).toHaveLength(1);
    t.queries[0]!(t.state(true));
    await new Promise((r) => setImmediate(r));
    expect((await g.stateWithin(50))?.killSwitch.engaged).toBe(true);
    expect(t.queries).toHaveLength(1);
  });

  it('close ends a read in flight (rejected) and waits for it, so the connection can close under no call', async () => {
    const t = fakeTemporal();
    const g = new GovernorClient(t.client, 'gov', 'q', 60_000);
    const pending = g.state();
    await g.close();
    await expect(pending).rejects.toThrow(/aborted/);
  });
});
