import { z } from 'zod';
import type { VerificationKey } from './signed-request';

/*
 * The principals directory: who may act on runs, and with which keys. It is part of the policy the
 * worker loads (its `principals` and `controls` sections, plus WARDEN_PRINCIPALS_FILE), so the policy
 * version covers it. Workflow-safe.
 */

const PrincipalKey = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'key ids are 1-100 letters, digits, . _ : -'),
    publicKey: z
      .string()
      .regex(/^ed25519:[0-9a-f]{64}$/, 'publicKey must be ed25519:<64 lowercase hex> (warden keys init prints it)'),
    /** Revoked keys stay listed so their past signatures can still be explained; new ones are refused. */
    revokedAt: z.string().datetime({ offset: true }).optional(),
    revokedReason: z.string().max(500).optional(),
  })
  .strict();

/** One principal (a person or a service) and its keys; rotation adds a key, revocation marks one. */
export const Principal = z.object({ keys: z.array(PrincipalKey).min(1) }).strict();

/** user id → principal. Agents (`agent:*`) can never be principals. */
export const Principals = z
  .record(
    z
      .string()
      .regex(
        /^(?!agent:)[A-Za-z0-9._@:-]{1,200}$/,
        'principal ids are 1-200 characters of A-Z a-z 0-9 . _ @ : - and never agent:*',
      ),
    Principal,
  )
  .superRefine((dir, ctx) => {
    const seen = new Map<string, string>();
    for (const [user, p] of Object.entries(dir)) {
      for (const k of p.keys) {
        const other = seen.get(k.publicKey);
        if (other !== undefined && other !== user)
          ctx.addIssue({
            code: 'custom',
            path: [user],
            message: `public key ${k.id} is also enrolled for ${other}: one key, one principal`,
          });
        seen.set(k.publicKey, user);
      }
    }
  });
/** user id → principal. */
export type Principals = z.infer<typeof Principals>;

/** Who may interrupt runs and flip the kill switch: group names from the policy's `groups`. */
export const Controls = z
  .object({
    pause: z.array(z.string().min(1)).optional(),
    resume: z.array(z.string().min(1)).optional(),
    cancel: z.array(z.string().min(1)).optional(),
    killSwitchOn: z.array(z.string().min(1)).optional(),
    killSwitchOff: z.array(z.string().min(1)).optional(),
  })
  .strict();
/** Who may interrupt runs and flip the kill switch. */
export type Controls = z.infer<typeof Controls>;

/** A control action a principal may be authorised for. */
export type ControlAction = keyof Controls;

/** user → verification keys, for the users given (absent users have none). */
export type KeyDirectory = Record<string, VerificationKey[]>;

/** The verification keys of `users`, from the directory. */
export function keysOf(principals: Principals, users: Iterable<string>): KeyDirectory {
  const out: KeyDirectory = {};
  for (const u of users) {
    const p = Object.hasOwn(principals, u) ? principals[u] : undefined;
    if (p)
      out[u] = p.keys.map((k) => ({
        id: k.id,
        publicKey: k.publicKey,
        ...(k.revokedAt ? { revokedAt: k.revokedAt } : {}),
      }));
  }
  return out;
}

/**
 * The users authorised for each control action, resolved from groups. Defaults when the policy says
 * nothing: anyone in any group may pause, resume, cancel and engage the kill switch; only members of the
 * highest tier's groups may release it (releasing lets every held write and destructive action go).
 */
export function controlAuthorisations(doc: {
  controls?: Controls;
  groups: Record<string, string[]>;
  tiers: Record<string, { stages: { groups: string[] }[] }>;
}): Record<ControlAction, string[]> {
  const members = (groups: string[]) => [...new Set(groups.flatMap((g) => doc.groups[g] ?? []))].sort();
  const all = Object.keys(doc.groups);
  const top = String(Math.max(...Object.keys(doc.tiers).map(Number)));
  const senior = [...new Set((doc.tiers[top]?.stages ?? []).flatMap((s) => s.groups))];
  const c = doc.controls ?? {};
  return {
    pause: members(c.pause ?? all),
    cancel: members(c.cancel ?? all),
    killSwitchOn: members(c.killSwitchOn ?? all),
    resume: members(c.resume ?? all),
    killSwitchOff: members(c.killSwitchOff ?? senior),
  };
}
