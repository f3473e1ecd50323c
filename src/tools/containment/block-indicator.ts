import crypto from 'node:crypto';
import net from 'node:net';
import { z } from 'zod';
import { defineTool } from '../types';
import type { Capability, ToolContext } from '../types';
import { parseFalconCredential } from './falcon-credentials';
import type { FalconCall, FalconClient } from './crowdstrike';
import { VendorRefusedError } from './vendor-http';

/** The capability `block_indicator` leases: the `crowdstrike.api_token` secret, for IOC writes. */
export const CROWDSTRIKE_IOCS_WRITE: Capability = { provider: 'crowdstrike', scopes: ['iocs:write'] };

const HASH_TYPES: ReadonlySet<string> = new Set(['sha256', 'md5']);
const DOMAIN = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;
/** How strongly an IOC action acts; an existing stronger action is never weakened. */
const STRENGTH: Record<string, number> = { no_action: 0, detect: 1, prevent_no_ui: 2, prevent: 2 };

/**
 * Arguments of `block_indicator`. The value is checked against its type (which also keeps FQL filters
 * free of injected quotes) and lower-cased. `action` defaults to `prevent` for hashes and `detect` for
 * IPs and domains, which Falcon IOC Management can flag but not block. Every indicator expires.
 */
export const BlockIndicatorInput = z
  .object({
    type: z.enum(['sha256', 'md5', 'domain', 'ipv4', 'ipv6']).describe('Indicator type.'),
    value: z.string().trim().min(1).max(253).toLowerCase().describe('The hash, domain or IP address.'),
    action: z
      .enum(['prevent', 'detect'])
      .optional()
      .describe('prevent blocks (hashes); detect raises a detection. Default: prevent for hashes, detect otherwise.'),
    severity: z.enum(['informational', 'low', 'medium', 'high', 'critical']).default('high'),
    platforms: z
      .array(z.enum(['windows', 'mac', 'linux']))
      .min(1)
      .default(['windows', 'mac', 'linux'])
      .describe('Operating systems the indicator applies to.'),
    description: z.string().trim().min(1).max(1000).optional().describe('Why it is blocked; shown in Falcon.'),
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe('Days until Falcon sets the indicator to no_action; blocks are never permanent.'),
  })
  .superRefine((a, ctx) => {
    const ok =
      a.type === 'sha256'
        ? /^[0-9a-f]{64}$/.test(a.value)
        : a.type === 'md5'
          ? /^[0-9a-f]{32}$/.test(a.value)
          : a.type === 'ipv4'
            ? net.isIPv4(a.value)
            : a.type === 'ipv6'
              ? net.isIPv6(a.value)
              : DOMAIN.test(a.value);
    if (!ok) ctx.addIssue({ code: 'custom', path: ['value'], message: `value is not a valid ${a.type}` });
  });
/** Arguments of `block_indicator`, after defaults. */
export type BlockIndicatorInput = z.output<typeof BlockIndicatorInput>;

/** What `block_indicator` returns. */
export const BlockIndicatorResult = z.object({
  vendor: z.literal('crowdstrike'),
  indicatorId: z.string(),
  type: z.string(),
  value: z.string(),
  action: z.string().describe('the action now in force in Falcon'),
  expiration: z.string().optional(),
  changed: z
    .boolean()
    .describe(
      'false when an active indicator at least as strong already existed, unless this very call (an earlier attempt) made it',
    ),
});
/** What `block_indicator` returns. */
export type BlockIndicatorResult = z.infer<typeof BlockIndicatorResult>;

/** The tag that marks an indicator as written by one call (a digest of its idempotency key: short, opaque). */
export function callTag(idempotencyKey: string): string {
  return `warden-${crypto.createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 20)}`;
}

function wantedAction(args: BlockIndicatorInput): 'prevent' | 'detect' {
  return args.action ?? (HASH_TYPES.has(args.type) ? 'prevent' : 'detect');
}

/** Falcon's timestamp format: RFC 3339 in UTC, whole seconds. */
function falconTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function blockIndicator(
  client: FalconClient,
  args: BlockIndicatorInput,
  ctx: ToolContext,
): Promise<BlockIndicatorResult> {
  const call: FalconCall = {
    credentials: parseFalconCredential(await ctx.credential(CROWDSTRIKE_IOCS_WRITE)),
    signal: ctx.signal,
  };
  const action = wantedAction(args);
  const now = Date.now();
  const expiration = falconTime(now + args.expiresInDays * 86_400_000);
  const comment = `Warden ${ctx.idempotencyKey}`;
  // Falcon returns tags with the indicator (its audit comment it does not): the tag lets a retry after a
  // crash recognise a change its own earlier attempt made, and report it as changed rather than found.
  const tag = callTag(ctx.idempotencyKey);
  const result = (id: string, inForce: string, exp: string | undefined, changed: boolean): BlockIndicatorResult => ({
    vendor: 'crowdstrike',
    indicatorId: id,
    type: args.type,
    value: args.value,
    action: inForce,
    ...(exp === undefined ? {} : { expiration: exp }),
    changed,
  });

  // Falcon keys IOCs by (type, value) and takes no idempotency key: looking first makes retries no-ops.
  const [existing] = await client.findIndicators(call, args.type, args.value);
  if (existing) {
    if (existing.action === 'allow')
      throw new VendorRefusedError(
        `crowdstrike: ${args.type} ${args.value} is on the Falcon allowlist (indicator ${existing.id}); ` +
          'someone allowed it on purpose, so Warden does not override it. Change it in the Falcon console if it must be blocked',
        { vendor: 'crowdstrike' },
      );
    const active = existing.expiration === undefined || Date.parse(existing.expiration) > now;
    const ours = (existing.tags ?? []).includes(tag);
    if (active && (STRENGTH[existing.action] ?? 0) >= (STRENGTH[action] ?? 2)) {
      ctx.logger.info({ tool: 'block_indicator', indicatorId: existing.id, ours }, 'indicator already in force');
      return result(existing.id, existing.action, existing.expiration, ours);
    }
    const updated = await client.updateIndicator(
      call,
      {
        id: existing.id,
        action,
        expiration,
        severity: args.severity,
        platforms: args.platforms,
        tags: [...new Set([...(existing.tags ?? []), tag])],
      },
      comment,
    );
    return result(updated.id, updated.action, updated.expiration ?? expiration, true);
  }
  const created = await client.createIndicator(
    call,
    {
      type: args.type,
      value: args.value,
      action,
      platforms: args.platforms,
      severity: args.severity,
      description: args.description ?? 'Blocked by Warden',
      source: 'Warden',
      applied_globally: true,
      expiration,
      tags: [tag],
    },
    comment,
  );
  ctx.logger.info({ tool: 'block_indicator', indicatorId: created.id, idempotencyKey: ctx.idempotencyKey }, 'created');
  return result(created.id, created.action, created.expiration ?? expiration, true);
}

/**
 * Builds `block_indicator`: adds a hash, domain or IP to CrowdStrike Falcon IOC Management.
 *
 * `write` risk: the indicator always expires (1-365 days, default 30) and can be removed. Idempotent by
 * lookup: an active indicator as strong as the one asked for is left alone, a weaker or expired one is
 * updated, an allowlisted one is refused. The Warden idempotency key goes into Falcon's audit comment.
 */
export function createBlockIndicatorTool(client: FalconClient) {
  return defineTool({
    name: 'block_indicator',
    description:
      'Adds an indicator (sha256, md5, domain, ipv4, ipv6) to CrowdStrike Falcon IOC Management with an expiry. ' +
      'Hashes are blocked (prevent); IPs and domains raise detections (Falcon does not block them).',
    input: BlockIndicatorInput,
    output: BlockIndicatorResult,
    risk: 'write',
    capabilities: [CROWDSTRIKE_IOCS_WRITE],
    rateLimitClass: 'crowdstrike',
    integration: 'crowdstrike',
    // Falcon applies these indicators to every host: a prevent block stops the hash fleet-wide.
    targets: (args) => [
      {
        kind: args.type === 'ipv4' || args.type === 'ipv6' ? 'ip' : args.type,
        value: args.value,
        ...(wantedAction(args) === 'prevent' ? { global: true } : {}),
      },
    ],
    summarize: (args) =>
      `crowdstrike: block ${args.type} ${args.value} (${wantedAction(args)}, expires in ${args.expiresInDays} d)`,
    execute: (args, ctx) => blockIndicator(client, args, ctx),
  });
}
