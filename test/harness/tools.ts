import { z } from 'zod';
import { defineTool } from '../../src/tools/types';
import type { AnyTool } from '../../src/tools/types';

/**
 * Tools for tests that act on a fake vendor over real HTTP, passing the idempotency key as real vendor
 * APIs expect. `failing_call` fails until the vendor recovers (circuit-breaker tests).
 */
export function vendorTools(vendorUrl: string): AnyTool[] {
  const post = async (path: string, body: unknown, key: string) => {
    const res = await fetch(`${vendorUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    if (res.status >= 500) throw new Error(`vendor answered ${res.status}`);
    return (await res.json()) as { ok: boolean; replay: boolean };
  };
  return [
    defineTool({
      name: 'asset_lookup',
      description: 'Looks up an asset in the inventory',
      input: z.object({ host: z.string() }),
      output: z.object({
        host: z.string(),
        criticality: z.enum(['low', 'high', 'critical']),
        tags: z.array(z.string()),
      }),
      risk: 'read',
      capabilities: [],
      execute: (args) =>
        Promise.resolve({
          host: args.host,
          criticality: args.host.startsWith('dc') ? ('critical' as const) : ('low' as const),
          tags: args.host.startsWith('dc') ? ['critical', 'domain-controller'] : [],
        }),
    }),
    defineTool({
      name: 'ticket_create',
      description: 'Creates a ticket (a reversible write)',
      input: z.object({ title: z.string().min(1), item: z.unknown().optional() }),
      output: z.object({ ok: z.boolean(), replay: z.boolean() }),
      risk: 'write',
      capabilities: [],
      integration: 'ticketing',
      summarize: (a) => `"${a.title}"`,
      execute: (args, ctx) => post('/tickets', args, ctx.idempotencyKey),
    }),
    defineTool({
      name: 'host_isolate',
      description: 'Isolates a host from the network (destructive)',
      input: z.object({ host: z.string().min(1) }),
      output: z.object({ ok: z.boolean(), replay: z.boolean() }),
      risk: 'destructive',
      capabilities: [{ provider: 'edr', scopes: ['hosts:isolate'] }],
      integration: 'edr',
      summarize: (a) => a.host,
      execute: (args, ctx) => post('/isolate', args, ctx.idempotencyKey),
    }),
    defineTool({
      name: 'rate_limited_call',
      description: 'A write to a rate-limited integration',
      input: z.object({ n: z.number() }),
      output: z.object({ ok: z.boolean(), replay: z.boolean() }),
      risk: 'write',
      capabilities: [],
      rateLimitClass: 'slowvendor',
      execute: (args, ctx) => post('/limited', args, ctx.idempotencyKey),
    }),
  ];
}
