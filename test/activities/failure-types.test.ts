import { z } from 'zod';
import { defineTool } from '../../src/tools/types';
import { VendorError, VendorRefusedError } from '../../src/tools/containment/vendor-http';
import type { Playbook } from '../../src/governance/steps';
import { testPolicy } from '../harness/policies';
import type { TestStack } from '../harness/temporal';
import { startTestStack } from '../harness/temporal';

/** Read tools (allowed by the test policy) that fail the way real vendor integrations do. */
let outageCalls = 0;
const failingVendorTools = [
  defineTool({
    name: 'vendor_refuses',
    description: 'A vendor call the vendor answers 403 (missing API scope)',
    input: z.object({}),
    output: z.object({}),
    risk: 'read',
    capabilities: [],
    execute: () =>
      Promise.reject(
        new VendorRefusedError('falcon: host lookup failed: GET /devices answered 403 (access denied)', {
          vendor: 'falcon',
          status: 403,
        }),
      ),
  }),
  defineTool({
    name: 'vendor_down',
    description: 'A vendor call the vendor answers 503',
    input: z.object({}),
    output: z.object({}),
    risk: 'read',
    capabilities: [],
    execute: () => {
      outageCalls++;
      return Promise.reject(
        new VendorError('falcon: host lookup failed: GET /devices answered 503', {
          vendor: 'falcon',
          status: 503,
          retryAfterMs: 20,
        }),
      );
    },
  }),
];

const oneStep = (tool: string): Playbook => ({
  name: `calls-${tool}`,
  steps: [{ id: 'call', kind: 'action', tool, args: {}, context: {}, onError: 'fail' }],
});

describe('failure types say whose fault it was (real Temporal dev server)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({}, { extraTools: failingVendorTools, policy: testPolicy() });
  });
  afterAll(() => stack.stop());

  const failureOf = async (tool: string) => {
    const { workflowId } = await stack.client.start('runPlaybook', { playbook: oneStep(tool), initiator: 'olivia' });
    const err = (await stack.client.result(workflowId).then(
      () => undefined,
      (e: unknown) => e,
    )) as { cause?: { type?: string; message?: string } } | undefined;
    return { type: err?.cause?.type, message: err?.cause?.message, state: await stack.client.runState(workflowId) };
  };

  it('a vendor 4xx is VendorRefused, not PolicyDenied, and is not retried', async () => {
    const f = await failureOf('vendor_refuses');
    expect(f.type).toBe('VendorRefused');
    expect(f.message).toMatch(/refused by the vendor: falcon: .*403/);
    expect(f.state.decisions[0]).toMatchObject({ effect: 'allow' }); // policy allowed it: not policy's doing
  });

  it('a vendor outage is VendorUnavailable once its retries run out', async () => {
    outageCalls = 0;
    const f = await failureOf('vendor_down');
    expect(f.type).toBe('VendorUnavailable');
    expect(f.message).toMatch(/503/);
    expect(outageCalls).toBeGreaterThan(1); // retried (at the vendor's Retry-After pace), unlike a refusal
  });
});
