import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import { createSecretStore } from '../credentials';
import type { CliIO } from './output';
import { json, table } from './output';

/** Drops one trailing newline (what `echo` and editors add), keeping any other whitespace. */
function chompOnce(s: string): string {
  return s.replace(/\r?\n$/, '');
}

/** Reads a line from the terminal without echoing it. */
async function promptHidden(io: CliIO, question: string): Promise<string> {
  const stdin = process.stdin;
  io.err(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new UserError('cancelled — nothing stored'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.err('');
      if (err) reject(err);
      else resolve(value);
    };
    stdin.on('data', onData);
  });
}

async function readSecretValue(io: CliIO, name: string, valueFile: string | undefined): Promise<string> {
  if (valueFile) {
    try {
      return chompOnce(fs.readFileSync(valueFile, 'utf8'));
    } catch (err) {
      throw new UserError(`cannot read --value-file ${valueFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (!process.stdin.isTTY) return chompOnce(await io.readStdin());
  return promptHidden(io, `value for ${name} (input hidden): `);
}

/** `warden secrets set|ls|rm|rotate-key`: the encrypted vault. Values are never printed or taken as arguments. */
export function registerSecretsCommands(program: Command, io: CliIO): void {
  const secrets = program
    .command('secrets')
    .description('manage secrets in the encrypted vault (values are never printed)');
  const open = () => {
    const config = loadConfig();
    const configured = createSecretStore(config);
    for (const w of configured.masterKey.warnings()) io.err(`warden: warning: ${w}`);
    return configured;
  };

  secrets
    .command('set')
    .description('store a secret; the value comes from --value-file, standard input, or a hidden prompt')
    .argument('<name>', 'secret name, e.g. edr.api_token')
    .argument('[value]', 'refused: values on a command line leak through ps and shell history')
    .option('--value-file <file>', 'read the value from this file (one trailing newline is dropped)')
    .action(async (name: string, value: string | undefined, opts: { valueFile?: string }) => {
      if (value !== undefined) {
        throw new UserError(
          'never pass a secret value as an argument (it shows in ps and shell history) — pipe it on stdin or use --value-file',
        );
      }
      const { store, masterKey } = open();
      const secret = await readSecretValue(io, name, opts.valueFile);
      if (!secret) throw new UserError(`empty value — nothing stored for "${name}"`);
      const hadKey = masterKey.source === 'env' || fs.existsSync(masterKey.file);
      const result = await store.set(name, secret);
      if (!hadKey) {
        io.err(
          `warden: generated the vault master key ${masterKey.file} (0600) — back it up: without it the vault cannot be read`,
        );
      }
      io.out(`stored "${name}" in the ${result.backend} (master key ${masterKey.load().activeId})`);
      if (result.shadowedBy) {
        io.err(`warden: warning: the ${result.shadowedBy} backend also holds "${name}" and wins — unset it there`);
      }
    });

  secrets
    .command('ls')
    .description('list secret names, where each comes from and when it changed (never values)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const listing = await open().store.list();
      if (opts.json) return io.out(json(listing));
      io.out(
        table(
          listing.map((l) => ({ ...l, note: l.shadowed ? 'shadowed (an earlier backend wins)' : undefined })),
          ['name', 'backend', 'updatedAt', 'note'],
        ),
      );
    });

  secrets
    .command('rm')
    .description('delete a secret from the vault')
    .argument('<name>')
    .action(async (name: string) => {
      const removed = await open().store.delete(name);
      io.out(`deleted "${name}" from the ${removed.join(', ')}`);
    });

  secrets
    .command('rotate-key')
    .description('re-encrypt every vault secret under a new master key (atomically)')
    .action(async () => {
      const { vault, masterKey } = open();
      const r = await vault.rotateKey();
      if (masterKey.source === 'file') {
        io.out(`re-encrypted ${r.reencrypted} secret(s) under the new master key ${r.keyId} (${masterKey.file})`);
      } else if (r.reencrypted === 0 && r.retiredKeyIds.length === 0) {
        io.out(
          `every secret is already under ${r.keyId} — to rotate, put a new key first in WARDEN_MASTER_KEY ` +
            '(`new,old`), run this again, then remove the old key',
        );
      } else {
        io.out(`re-encrypted ${r.reencrypted} secret(s) under ${r.keyId} (the first key of WARDEN_MASTER_KEY)`);
        if (r.retiredKeyIds.length)
          io.out(`no secret needs ${r.retiredKeyIds.join(', ')} any more: remove it from WARDEN_MASTER_KEY`);
      }
    });
}
