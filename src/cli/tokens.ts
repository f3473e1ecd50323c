import type { Command } from 'commander';
import ms from 'ms';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import type { ApiTokenStore } from '../triggers/api-tokens';
import type { CliIO } from './output';
import { json, table } from './output';

/** `--expires`: a duration from now (`90d`, `12h`), an ISO date, or `never`. */
function expiryFrom(value: string, now = Date.now()): Date | undefined {
  if (value === 'never') return undefined;
  const span = /^\d+(\.\d+)?\s*[a-z]+$/i.test(value) ? (ms(value as ms.StringValue) as number | undefined) : undefined;
  const at = span !== undefined && Number.isFinite(span) ? now + span : Date.parse(value);
  if (!Number.isFinite(at))
    throw new UserError(`--expires "${value}" is not a duration (90d, 12h), an ISO date (2026-01-31) or "never"`);
  return new Date(at);
}

/** `warden tokens create|ls|revoke`: API tokens for machines calling the HTTP API (shown once, stored as digests). */
export function registerTokenCommands(program: Command, io: CliIO): void {
  const tokens = program
    .command('tokens')
    .description('manage HTTP API tokens (the token is shown once; only its digest is stored)');
  // better-sqlite3 loads on first use, so every other command starts without it.
  const withStore = async <T>(fn: (store: ApiTokenStore) => T): Promise<T> => {
    const { ApiTokenStore } = await import('../triggers/api-tokens');
    const store = ApiTokenStore.open(loadConfig().api.tokensFile);
    try {
      return fn(store);
    } finally {
      store.close();
    }
  };

  tokens
    .command('create')
    .description('create a token and print it once on standard output')
    .argument('<name>', 'what the token is for, e.g. ci-deploy (a run it starts records token:<name> as initiator)')
    .requiredOption('--scopes <list>', 'comma-separated: runs:read, runs:start')
    .option('--expires <when>', 'a duration (90d, 12h), an ISO date, or never', '90d')
    .action(async (name: string, opts: { scopes: string; expires: string }) => {
      const { parseScopes } = await import('../triggers/api-tokens');
      const scopes = parseScopes(opts.scopes);
      const expiresAt = expiryFrom(opts.expires);
      await withStore((store) => {
        const { token, info } = store.create({ name, scopes, expiresAt });
        io.err(
          `warden: created API token "${info.name}" (${info.scopes.join(', ')}; ${info.expiresAt ? `expires ${info.expiresAt}` : 'never expires'}) — ` +
            'it is shown once, store it now; send it as Authorization: Bearer <token>',
        );
        io.out(token);
      });
    });

  tokens
    .command('ls')
    .description('list tokens: name, scopes, expiry, status (never the token)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const list = await withStore((store) => store.list());
      if (opts.json) return io.out(json(list));
      io.out(
        table(
          list.map((t) => ({ ...t, scopes: t.scopes.join(',') })),
          ['name', 'id', 'scopes', 'status', 'createdAt', 'expiresAt'],
        ),
      );
    });

  tokens
    .command('revoke')
    .description('revoke a token by name or id (takes effect on the next request)')
    .argument('<name>')
    .action(async (name: string) => {
      const info = await withStore((store) => store.revoke(name));
      io.out(`revoked API token "${info.name}" (${info.id}) at ${info.revokedAt}`);
    });
}
