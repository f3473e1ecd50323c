import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { WardenConfig } from '../config';
import { writeFileAtomic } from '../credentials/files';
import { loadPolicyFile } from '../runtime/policy-file';
import { useCasePolicyFragments } from '../usecases/registry';
import { initKey, loadSigner } from './keyring';

/**
 * For `warden dev` only: gives every approver the policy names a signing key on this machine (in
 * WARDEN_KEYS_DIR, made once and reused) and writes their public keys to <dataDir>/principals.yaml, so
 * the quickstart's signed approvals work with no setup. Skipped when WARDEN_PRINCIPALS_FILE is set (a
 * real directory is in charge). Returns the configuration the local worker should load, and who was enrolled.
 */
export function enrolLocalApprovers(config: WardenConfig): { config: WardenConfig; enrolled: string[] } {
  if (config.principalsFile) return { config, enrolled: [] };
  const policy = loadPolicyFile(config.policyFile, useCasePolicyFragments(config));
  const users = [...new Set(Object.values(policy.document.groups).flat())]
    .filter((u) => !policy.document.principals[u])
    .sort();
  const principals: Record<string, { keys: { id: string; publicKey: string }[] }> = {};
  for (const user of users) {
    const signer = fs.existsSync(path.join(config.keysDir, `${user.replace(/:/g, '_')}.key.json`))
      ? loadSigner(config.keysDir, user)
      : initKey(config.keysDir, user);
    principals[user] = { keys: [{ id: signer.keyId, publicKey: signer.publicKey }] };
  }
  const file = path.join(config.dataDir, 'principals.yaml');
  writeFileAtomic(
    file,
    `# Written by \`warden dev\`: the demo approvers' public keys (private keys in ${config.keysDir}).\n` +
      YAML.stringify({ principals }),
  );
  return { config: { ...config, principalsFile: file }, enrolled: users };
}
