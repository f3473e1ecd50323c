import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import { CODEC_KEY_ID_PREFIX, codecFromConfig, loadCodecKeyRing, rotateCodecKeyFile } from '../codec/codec-keys';
import { readKeyFile } from '../credentials/keys';
import type { CliIO } from './output';
import { json, table } from './output';

const NO_KEY =
  'no payload codec key is configured — set WARDEN_CODEC_KEY_FILE (create it with `warden codec-key rotate`) ' +
  'or WARDEN_CODEC_KEYS; see README "Credentials and encryption"';

/** `warden codec-server` and `warden codec-key rotate|ls`: payload encryption. */
export function registerCodecCommands(program: Command, io: CliIO): void {
  program
    .command('codec-server')
    .description('serve POST /encode and /decode for the Temporal Web UI and CLI until Ctrl-C')
    .option('--host <host>', 'bind address (default WARDEN_CODEC_SERVER_HOST)')
    .option('--port <port>', 'port (default WARDEN_CODEC_SERVER_PORT)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserError(`--port takes a port number, not "${v}"`);
      return n;
    })
    .option('--ui-endpoint', 'also serve a tokenised path for the Web UI, which cannot send a bearer header')
    .action(async (opts: { host?: string; port?: number; uiEndpoint?: boolean }) => {
      const config = loadConfig();
      const codec = codecFromConfig(config);
      if (!codec) throw new UserError(NO_KEY);
      const [{ startCodecServer }, { createLogger }] = await Promise.all([
        import('../codec/codec-server'),
        import('../telemetry/logger'),
      ]);
      const logger = createLogger({ level: config.logLevel, name: 'warden-codec' });
      const server = await startCodecServer(config, logger, codec, {
        ...(opts.host ? { host: opts.host } : {}),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.uiEndpoint ? { uiPathToken: randomBytes(24).toString('base64url') } : {}),
      });
      const tokenFrom = server.tokenFile
        ? `${path.relative(process.cwd(), server.tokenFile) || server.tokenFile}${server.tokenCreated ? ' (generated, 0600)' : ''}`
        : 'WARDEN_CODEC_SERVER_TOKEN';
      io.err(
        [
          `warden: codec server listening on ${server.url} (active key ${codec.activeKeyId})`,
          `  bearer token: ${tokenFrom}`,
          `  temporal CLI: TEMPORAL_CODEC_AUTH="Bearer <token>" temporal workflow show --codec-endpoint ${server.url} -w <id>`,
          server.uiEndpoint ? `  Web UI codec endpoint: ${server.uiEndpoint}  (treat this URL as a secret)` : undefined,
        ]
          .filter(Boolean)
          .join('\n'),
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  const keys = program
    .command('codec-key')
    .description('manage payload encryption keys (key ids only; never key material)');
  keys
    .command('rotate')
    .description('add a new active key to the codec key file, keeping older keys for decryption')
    .option('--file <file>', 'key file (default WARDEN_CODEC_KEY_FILE)')
    .option('--keep <n>', 'keep only the newest n keys (drop a key only when no history needs it)', (v) => Number(v))
    .action(async (opts: { file?: string; keep?: number }) => {
      const config = loadConfig();
      const file = opts.file ? path.resolve(opts.file) : config.codec.keyFile;
      if (!file) throw new UserError('name the key file: --file <file> or WARDEN_CODEC_KEY_FILE');
      if (opts.keep !== undefined && !(Number.isInteger(opts.keep) && opts.keep >= 1))
        throw new UserError('--keep takes a whole number of keys, at least 1');
      const ring = await rotateCodecKeyFile(file, opts.keep ? { keep: opts.keep } : {});
      io.out(`active codec key is now ${ring.activeId} (${ring.keys.size} key(s) in ${file})`);
      if (config.codec.keys) io.err('warden: warning: WARDEN_CODEC_KEYS is set and wins over the key file');
      else if (config.codec.keyFile !== file) io.err(`warden: set WARDEN_CODEC_KEY_FILE=${file} to use it`);
      io.err('warden: restart workers and clients so they encrypt under the new key');
    });

  keys
    .command('ls')
    .description('list codec key ids (the first is active)')
    .option('--file <file>', 'key file (default: WARDEN_CODEC_KEYS or WARDEN_CODEC_KEY_FILE)')
    .option('--json', 'machine-readable output')
    .action((opts: { file?: string; json?: boolean }) => {
      const ring = opts.file
        ? readKeyFile(path.resolve(opts.file), CODEC_KEY_ID_PREFIX)
        : loadCodecKeyRing(loadConfig());
      if (!ring) throw new UserError(opts.file ? `${opts.file} does not exist` : NO_KEY);
      const rows = ring.entries.map((e, i) => ({ id: e.id, active: i === 0, createdAt: e.createdAt }));
      io.out(opts.json ? json(rows) : table(rows, ['id', 'active', 'createdAt']));
    });
}
