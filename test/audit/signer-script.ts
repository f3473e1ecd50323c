import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A real external signer for tests: a node script that holds the key and speaks the command protocol. */
export interface SignerScript {
  /** The WARDEN_AUDIT_SIGNER_COMMAND value. */
  command: string;
  /** The public key the command's signatures verify with. */
  publicKeyFile: string;
  /** How many times the command ran. */
  calls(): number;
}

const SCRIPT = `
const { createPrivateKey, sign } = require('node:crypto');
const fs = require('node:fs');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  fs.appendFileSync(process.argv[3], 'x');
  const key = createPrivateKey(fs.readFileSync(process.argv[2], 'utf8'));
  process.stdout.write(sign(null, Buffer.concat(chunks), key).toString('base64') + '\\n');
});
`;

/**
 * Writes the script, its key (0600, in its own directory: the ledger never sees it) and its public
 * key. With `lie`, the script signs with another key than the published one (a misconfigured or
 * compromised signer).
 */
export function signerScript(root: string, opts: { lie?: boolean } = {}): SignerScript {
  const dir = fs.mkdtempSync(path.join(root, 'signer-'));
  const real = generateKeyPairSync('ed25519');
  const used = opts.lie ? generateKeyPairSync('ed25519') : real;
  const keyFile = path.join(dir, 'kms.key');
  fs.writeFileSync(keyFile, used.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const publicKeyFile = path.join(dir, 'kms.pub');
  fs.writeFileSync(publicKeyFile, real.publicKey.export({ type: 'spki', format: 'pem' }));
  const script = path.join(dir, 'sign.js');
  fs.writeFileSync(script, SCRIPT);
  const callsFile = path.join(dir, 'calls');
  fs.writeFileSync(callsFile, '');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return {
    command: `${q(process.execPath)} ${q(script)} ${q(keyFile)} ${q(callsFile)}`,
    publicKeyFile,
    calls: () => fs.readFileSync(callsFile, 'utf8').length,
  };
}
