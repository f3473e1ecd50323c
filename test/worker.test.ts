import { startHealthServer } from '../src/worker';
import { freePort } from '../src/runtime/dev-server';
import { startTestStack } from './harness/temporal';

describe('worker readiness probe', () => {
  it('answers 200 on /readyz while polling and 503 once drained', async () => {
    const stack = await startTestStack();
    const port = await freePort();
    const server = await startHealthServer(stack.worker, '127.0.0.1', port);
    try {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await stack.stop();
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { state: string }).state).toBe('STOPPED');
    } finally {
      server.close();
    }
  });
});
