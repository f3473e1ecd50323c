import { createHash, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApprovalSignal, PendingApproval } from '../../src/governance/approvals';
import { approvalFields } from '../../src/governance/approvals';
import type { Policy } from '../../src/governance/policy';
import type { Signer } from '../../src/identity/keyring';
import { parsePolicy } from '../../src/runtime/policy-file';
import { signerFor } from '../../src/identity/keyring';

/*
 * Test identities: every test user has a deterministic ed25519 key (seeded from its name), so workers,
 * CLI processes and tests agree on them without sharing state. Never use seeded keys outside tests.
 */

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const signers = new Map<string, Signer>();

/** The test signer of `user` (same key in every process). */
export function signerOf(user: string): Signer {
  let s = signers.get(user);
  if (!s) {
    const seed = createHash('sha256').update(`warden-test-key:${user}`).digest();
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    s = signerFor(user, key, `${user}-test`);
    signers.set(user, s);
  }
  return s;
}

/** A principals directory enrolling the test keys of `users`. */
export function testPrincipals(users: Iterable<string>): Record<string, { keys: { id: string; publicKey: string }[] }> {
  return Object.fromEntries(
    [...users].map((u) => [u, { keys: [{ id: signerOf(u).keyId, publicKey: signerOf(u).publicKey }] }]),
  );
}

/** The same directory as YAML lines for a policy file (`principals:` block). */
export function principalsYaml(users: Iterable<string>): string {
  const lines = ['principals:'];
  for (const [u, p] of Object.entries(testPrincipals(users)))
    lines.push(`  ${u}: { keys: [{ id: ${p.keys[0]!.id}, publicKey: '${p.keys[0]!.publicKey}' }] }`);
  return lines.join('\n');
}

/** Writes the users' key files (0600) into a keys directory, as `warden keys init` would. */
export function writeTestKeys(dir: string, users: Iterable<string>): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const u of users) {
    const seed = createHash('sha256').update(`warden-test-key:${u}`).digest();
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const s = signerOf(u);
    fs.writeFileSync(
      path.join(dir, `${u}.key.json`),
      JSON.stringify({
        principal: u,
        keyId: s.keyId,
        publicKey: s.publicKey,
        privateKey: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
        createdAt: new Date().toISOString(),
      }),
      { mode: 0o600 },
    );
  }
}

/** A signed `approval` payload for a pending approval, as `warden approve` sends it. */
export function signedApproval(
  p: Pick<PendingApproval, 'workflowId' | 'approvalId' | 'actionHash'>,
  decision: 'approve' | 'reject',
  approver: string,
  extra: { reason?: string; requestId?: string; signAs?: string; at?: Date } = {},
): ApprovalSignal {
  const body = {
    approvalId: p.approvalId,
    decision,
    approver,
    actionHash: p.actionHash,
    ...(extra.reason ? { reason: extra.reason } : {}),
  };
  return {
    ...body,
    ...(extra.requestId ? { requestId: extra.requestId } : {}),
    signature: signerOf(extra.signAs ?? approver).sign('approval', approvalFields(p.workflowId, body), extra.at),
  };
}

/** The policy with every user its groups name enrolled with their test key (for policies read from files). */
export function withTestPrincipals(policy: Policy): Policy {
  const users = Object.values(policy.document.groups).flat();
  return parsePolicy({ ...policy.document, principals: { ...testPrincipals(users), ...policy.document.principals } });
}

/** A fresh keys directory holding the test keys of `users` (for CLI processes: WARDEN_KEYS_DIR). */
export function testKeysDir(users: Iterable<string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-keys-'));
  writeTestKeys(dir, users);
  return dir;
}
