import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import { Principals } from '../identity/directory';
import { initKey, loadSigner } from '../identity/keyring';
import { readPrincipalsFile } from '../runtime/policy-file';
import { writeFileAtomic } from '../credentials/files';
import { formatIssues } from '../governance/issues';
import type { CliIO } from './output';
import { json, keyValues } from './output';

function principalsFileOf(opt: string | undefined): string {
  const file = opt ?? loadConfig().principalsFile;
  if (!file) throw new UserError('no principals file: pass --file <path> or set WARDEN_PRINCIPALS_FILE');
  return file;
}

/** Reads, changes and writes back a principals file, validating the result. */
function editPrincipals(file: string, change: (p: Record<string, { keys: Record<string, unknown>[] }>) => void): void {
  const current = readPrincipalsFile(file) as Record<string, { keys: Record<string, unknown>[] }>;
  change(current);
  const parsed = Principals.safeParse(current);
  if (!parsed.success) throw new UserError(`the principals would be invalid: ${formatIssues(parsed.error)}`);
  const header = '# Warden principals directory (WARDEN_PRINCIPALS_FILE): user → ed25519 public keys.\n';
  writeFileAtomic(file, header + YAML.stringify({ principals: parsed.data }));
  fs.chmodSync(file, 0o644); // public keys: readable, written only by its owner
}

/** `warden keys init|show|enrol|revoke`: signing keys for approvals and controls, and the directory that trusts them. */
export function registerKeysCommands(program: Command, io: CliIO): void {
  const keys = program.command('keys').description('signing keys for approvals and controls (ed25519)');

  keys
    .command('init')
    .description('make your signing key (0600, in WARDEN_KEYS_DIR) and print the public key to enrol')
    .requiredOption('--as <user>', 'your principal id, as the policy’s groups name you')
    .option('--rotate', 'replace an existing key (the old one is kept as .retired; enrol the new, then revoke the old)')
    .option('--json', 'machine-readable output')
    .action((opts: { as: string; rotate?: boolean; json?: boolean }) => {
      const s = initKey(loadConfig().keysDir, opts.as, { rotate: opts.rotate });
      const out = { principal: s.principal, keyId: s.keyId, publicKey: s.publicKey, file: s.file };
      if (opts.json) return io.out(json(out));
      io.out(keyValues(out));
      io.out(
        `\nEnrol it (an administrator of the policy runs):\n  warden keys enrol --as ${s.principal} --key-id ${s.keyId} --public-key ${s.publicKey}`,
      );
    });

  keys
    .command('show')
    .description('print your public key')
    .requiredOption('--as <user>', 'your principal id')
    .option('--json', 'machine-readable output')
    .action((opts: { as: string; json?: boolean }) => {
      const s = loadSigner(loadConfig().keysDir, opts.as);
      const out = { principal: s.principal, keyId: s.keyId, publicKey: s.publicKey };
      io.out(opts.json ? json(out) : keyValues(out));
    });

  keys
    .command('enrol')
    .description("add a principal's public key to the principals file (workers pick it up when they load the policy)")
    .requiredOption('--as <user>', 'the principal')
    .requiredOption('--key-id <id>', 'the key id `warden keys init` printed')
    .requiredOption('--public-key <key>', 'ed25519:<hex> as `warden keys init` printed')
    .option('--file <path>', 'principals file (default WARDEN_PRINCIPALS_FILE)')
    .action((opts: { as: string; keyId: string; publicKey: string; file?: string }) => {
      const file = principalsFileOf(opts.file);
      editPrincipals(file, (p) => {
        const entry = (p[opts.as] ??= { keys: [] });
        if (entry.keys.some((k) => k.id === opts.keyId))
          throw new UserError(`${opts.as} already has a key ${opts.keyId}`);
        entry.keys.push({ id: opts.keyId, publicKey: opts.publicKey });
      });
      io.out(`enrolled ${opts.as} key ${opts.keyId} in ${file}; restart or redeploy workers to load it`);
    });

  keys
    .command('revoke')
    .description('revoke a key: signatures made with it are refused from then on')
    .requiredOption('--as <user>', 'the principal')
    .requiredOption('--key-id <id>', 'the key to revoke')
    .option('--reason <text>', 'why (kept in the directory)')
    .option('--file <path>', 'principals file (default WARDEN_PRINCIPALS_FILE)')
    .action((opts: { as: string; keyId: string; reason?: string; file?: string }) => {
      const file = principalsFileOf(opts.file);
      editPrincipals(file, (p) => {
        const key = p[opts.as]?.keys.find((k) => k.id === opts.keyId);
        if (!key) throw new UserError(`${opts.as} has no key ${opts.keyId} in ${file}`);
        key.revokedAt = new Date().toISOString();
        if (opts.reason) key.revokedReason = opts.reason;
      });
      io.out(`revoked ${opts.as} key ${opts.keyId} in ${file}; restart or redeploy workers to load it`);
    });
}
