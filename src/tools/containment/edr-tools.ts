import { z } from 'zod';
import { defineTool } from '../types';
import type { Capability, ToolContext } from '../types';
import { parseFalconCredential } from './falcon-credentials';
import type { FalconCall, FalconClient, FalconDevice } from './crowdstrike';
import { VendorError, VendorRefusedError } from './vendor-http';
import { alreadyInState } from '../write-intent';

/** The capability the EDR tools lease: the `crowdstrike.api_token` secret, for host writes. */
export const CROWDSTRIKE_HOSTS_WRITE: Capability = { provider: 'crowdstrike', scopes: ['hosts:write'] };

/** A hostname as Falcon stores it; the character set also keeps FQL filters free of injected quotes. */
export const FalconHostname = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a hostname holds letters, digits, ".", "_" and "-" only');

/**
 * Arguments of `edr_isolate_host` and `edr_release_host`: the host by name, by Falcon device id (AID), or
 * both (then the device's hostname must match, a guard against acting on the wrong machine).
 */
export const EdrHostInput = z
  .object({
    hostname: FalconHostname.optional().describe('Hostname as Falcon shows it, e.g. web-01.'),
    deviceId: z
      .string()
      .regex(/^[0-9a-fA-F]{32}$/, 'a Falcon device id (AID) is 32 hex characters')
      .toLowerCase()
      .optional()
      .describe('Falcon device id (AID); needed when several devices share a hostname.'),
  })
  .refine((a) => a.hostname !== undefined || a.deviceId !== undefined, {
    error: 'give the host: hostname, deviceId, or both',
  });
/** Arguments of the EDR containment tools. */
export type EdrHostInput = z.output<typeof EdrHostInput>;

/** What the EDR containment tools return. */
export const EdrHostResult = z.object({
  vendor: z.literal('crowdstrike'),
  action: z.enum(['contain', 'lift_containment']),
  deviceId: z.string(),
  hostname: z.string().optional(),
  changed: z
    .boolean()
    .describe('false when the host already was in the requested state before this call and nothing was sent'),
  appliedByEarlierAttempt: z
    .boolean()
    .optional()
    .describe('true when an earlier attempt of this call made the change and this retry found it done'),
  status: z.string().describe('Falcon containment status after the call, e.g. containment_pending or contained'),
});
/** What the EDR containment tools return. */
export type EdrHostResult = z.infer<typeof EdrHostResult>;

type HostAction = EdrHostResult['action'];

/** Device states in which an action has nothing left to do. */
const ALREADY: Record<HostAction, ReadonlySet<string>> = {
  contain: new Set(['contained', 'containment_pending']),
  lift_containment: new Set(['normal', 'lift_containment_pending']),
};
const PENDING: Record<HostAction, string> = {
  contain: 'containment_pending',
  lift_containment: 'lift_containment_pending',
};

function hostLabel(args: EdrHostInput): string {
  return args.hostname ?? args.deviceId ?? '?';
}

async function resolveDevice(client: FalconClient, call: FalconCall, args: EdrHostInput): Promise<FalconDevice> {
  const refuse = (message: string) => new VendorRefusedError(`crowdstrike: ${message}`, { vendor: 'crowdstrike' });
  let deviceId = args.deviceId;
  if (deviceId === undefined) {
    const hostname = args.hostname ?? '';
    const ids = await client.findDeviceIds(call, hostname);
    if (ids.length === 0)
      throw refuse(
        `no Falcon device has the hostname "${hostname}" (${client.host}); check the name (Falcon keeps the ` +
          `short hostname, without the domain) or pass deviceId`,
      );
    if (ids.length > 1)
      throw refuse(
        `the hostname "${hostname}" matches ${ids.length} Falcon devices (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''}); ` +
          `pass deviceId to say which one`,
      );
    deviceId = ids[0] ?? '';
  }
  const device = await client.getDevice(call, deviceId);
  if (!device) {
    // A hostname that resolved to an id whose record is missing is Falcon catching up, not a bad input.
    if (args.deviceId === undefined)
      throw new VendorError(
        `crowdstrike: device ${deviceId} of "${args.hostname}" has no record yet; will be retried`,
        {
          vendor: 'crowdstrike',
        },
      );
    throw refuse(`no Falcon device has the id ${deviceId} (${client.host}); check the device id (AID)`);
  }
  if (args.hostname && args.deviceId && device.hostname?.toLowerCase() !== args.hostname.toLowerCase())
    throw refuse(
      `device ${device.device_id} is "${device.hostname ?? '(no hostname)'}", not "${args.hostname}"; nothing was done. ` +
        'Check which host is meant',
    );
  return device;
}

/**
 * Moves one host into (or out of) Falcon network containment. Naturally idempotent, since Falcon takes
 * no idempotency key: the device's status is read first and a host already in (or entering) the requested
 * state is left alone; a 409 from Falcon (a concurrent change) counts as done too. The write is announced
 * first, so a retry after a crash or a lost answer reports the change as this call's (`changed: true`).
 */
async function runHostAction(
  client: FalconClient,
  action: HostAction,
  args: EdrHostInput,
  ctx: ToolContext,
): Promise<EdrHostResult> {
  const call: FalconCall = {
    credentials: parseFalconCredential(await ctx.credential(CROWDSTRIKE_HOSTS_WRITE)),
    signal: ctx.signal,
  };
  const device = await resolveDevice(client, call, args);
  const base = {
    vendor: 'crowdstrike' as const,
    action,
    deviceId: device.device_id,
    ...(device.hostname === undefined ? {} : { hostname: device.hostname }),
  };
  const status = device.status ?? 'unknown';
  const write = { action, target: device.device_id };
  const done = (s: string) => ALREADY[action].has(s);
  if (done(status)) {
    const outcome = alreadyInState(ctx.priorWrite, write, status, done);
    ctx.logger.info(
      { tool: 'crowdstrike', action, deviceId: device.device_id, status, appliedByEarlierAttempt: outcome.changed },
      outcome.changed ? 'host action applied by an earlier attempt' : 'host already in state',
    );
    return { ...base, ...outcome, status };
  }
  await ctx.announceWrite({ ...write, before: status });
  const { applied } = await client.deviceAction(call, action, device.device_id);
  ctx.logger.info(
    { tool: 'crowdstrike', action, deviceId: device.device_id, applied, idempotencyKey: ctx.idempotencyKey },
    'host action sent',
  );
  return { ...base, changed: applied, status: applied ? PENDING[action] : ([...ALREADY[action]][0] ?? status) };
}

/**
 * Builds `edr_isolate_host` and `edr_release_host` on a Falcon client.
 *
 * Both are `write` (containment is reversible); whether a host may be contained without a human is the
 * policy's call (e.g. a rule requiring approval for critical assets), not the tool's. Credentials come
 * only through `ctx.credential(CROWDSTRIKE_HOSTS_WRITE)`. Calls share the `crowdstrike` rate-limit class
 * and circuit breaker.
 */
export function createEdrTools(client: FalconClient) {
  const common = {
    input: EdrHostInput,
    output: EdrHostResult,
    risk: 'write' as const,
    capabilities: [CROWDSTRIKE_HOSTS_WRITE],
    rateLimitClass: 'crowdstrike',
    integration: 'crowdstrike',
    targets: (args: EdrHostInput) => [
      ...(args.hostname !== undefined ? [{ kind: 'host', value: args.hostname }] : []),
      ...(args.deviceId !== undefined ? [{ kind: 'deviceId', value: args.deviceId }] : []),
    ],
  };
  return [
    defineTool({
      ...common,
      name: 'edr_isolate_host',
      description:
        'Network-contains a host with CrowdStrike Falcon: it keeps talking only to the Falcon cloud until released. ' +
        'Reversible with edr_release_host. A host already contained is left as is (changed: false).',
      summarize: (args) => `crowdstrike: contain host ${hostLabel(args)}`,
      execute: (args, ctx) => runHostAction(client, 'contain', args, ctx),
    }),
    defineTool({
      ...common,
      name: 'edr_release_host',
      description:
        'Lifts CrowdStrike Falcon network containment from a host, restoring its network access. ' +
        'A host that is not contained is left as is (changed: false).',
      summarize: (args) => `crowdstrike: lift containment on host ${hostLabel(args)}`,
      execute: (args, ctx) => runHostAction(client, 'lift_containment', args, ctx),
    }),
  ];
}
