import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { WardenConfig } from '../config';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import type { AuditStore } from '../audit';
import {
  AuditLedger,
  PUBLIC_KEY_FILE,
  openAuditStore,
  publicKeyRing,
  readPublicKeyFiles,
  readWitness,
  summarizeRecord,
  verifyStore,
} from '../audit';
import { registerAuditExport } from './audit-export';
import type { CliIO } from './output';
import { json, table } from './output';

async function withStore<T>(config: WardenConfig, fn: (store: AuditStore) => Promise<T>): Promise<T> {
  const store = await openAuditStore(config, { create: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The keys an auditor trusts: given out of band, never read from the ledger's own machine by default. */
function trustedKeys(config: WardenConfig, explicit: string[]): Map<string, KeyObject> {
  const files = explicit.length ? explicit : config.audit.publicKeyFiles;
  if (!files.length) {
    const local = path.join(config.audit.keysDir, PUBLIC_KEY_FILE);
    throw new UserError(
      'audit verify needs the public key that signs the checkpoints, obtained out of band: pass --public-key FILE (repeatable) or set WARDEN_AUDIT_PUBLIC_KEYS' +
        (fs.existsSync(local) ? ` (this machine publishes its signing key at ${local})` : ''),
    );
  }
  const keys = readPublicKeyFiles(files, explicit.length ? '--public-key' : 'WARDEN_AUDIT_PUBLIC_KEYS');
  try {
    return publicKeyRing(keys);
  } catch (err) {
    throw new UserError(`${(err as Error).message}: pass the Ed25519 public key (PEM) that signs the checkpoints`);
  }
}

/** Witness paths: the ones given, else the configured witness dir when it exists; none with --no-witness. */
function witnessPaths(config: WardenConfig, given: string[] | false): string[] {
  if (given === false) return [];
  if (given.length) return given;
  const dir = config.audit.witnessDir;
  return dir && fs.existsSync(dir) ? [dir] : [];
}

interface VerifyOptions {
  publicKey: string[];
  witness: string[] | false;
  maxUnanchored?: number;
  maxUnanchoredMs?: number;
  json?: boolean;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
}

/** `warden audit verify|show|export|checkpoint`. */
export function registerAuditCommands(program: Command, io: CliIO): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit ledger: verify it, read a run, export to a SIEM');

  audit
    .command('verify')
    .description(
      'recompute every hash, the record and checkpoint chains, the signatures and the witness; exit non-zero naming the first bad record',
    )
    .option(
      '--public-key <file>',
      'trust this Ed25519 public key (PEM) obtained out of band; repeatable (default: WARDEN_AUDIT_PUBLIC_KEYS)',
      collect,
      [],
    )
    .option(
      '--witness <path>',
      'checkpoints kept outside the database (a witness dir or file); repeatable (default: WARDEN_AUDIT_WITNESS_DIR if it exists)',
      collect,
      [],
    )
    .option('--no-witness', 'do not read the configured witness dir')
    .option(
      '--max-unanchored <n>',
      'fail when more records follow the newest checkpoint (default: WARDEN_AUDIT_CHECKPOINT_EVERY)',
      nonNegativeInt,
    )
    .option(
      '--max-unanchored-ms <ms>',
      'fail when a record has waited longer for a checkpoint (default: WARDEN_AUDIT_CHECKPOINT_INTERVAL_MS; 0: no limit)',
      nonNegativeInt,
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: VerifyOptions) => {
      const config = loadConfig();
      const keys = trustedKeys(config, opts.publicKey);
      const paths = witnessPaths(config, opts.witness);
      const witness = readWitness(paths);
      const result = await withStore(config, (store) =>
        verifyStore(store, keys, {
          ...(paths.length ? { witness } : {}),
          freshness: {
            maxRecords: opts.maxUnanchored ?? config.audit.checkpointEvery,
            maxAgeMs: opts.maxUnanchoredMs ?? config.audit.checkpointIntervalMs,
          },
        }),
      );
      if (opts.json) io.out(json({ ...result, witnessPaths: paths }));
      if (!result.ok) {
        throw new UserError(`ledger verification FAILED at seq ${result.firstBadSeq ?? '?'}: ${result.reason ?? ''}`);
      }
      if (opts.json) return;
      const cp = result.latestCheckpoint;
      io.out(
        `ledger OK: ${result.checked} records, ${result.checkpoints} checkpoints` +
          (cp ? ` (newest at seq ${cp.seq}, ${cp.ts}, ${cp.keyId})` : ''),
      );
      if (result.head) io.out(`head: seq ${result.head.seq} leaf ${result.head.leafHash}`);
      io.out(
        paths.length
          ? `witness: ${result.witnessed ?? 0} checkpoints in ${paths.join(', ')} match the ledger`
          : 'witness: none given: a rollback to an earlier state of the ledger, or a rewrite re-signed with the signing key, would go unnoticed (see --witness)',
      );
      if (result.backlog?.count) {
        io.out(
          `backlog: ${result.backlog.count} records accepted and waiting for the sealer (oldest ${result.backlog.oldestTs ?? '?'}), not yet covered`,
        );
      }
    });

  audit
    .command('show')
    .description('the decision chain of one run as a timeline')
    .argument('<workflowId>')
    .option('-n, --limit <n>', 'at most this many records', positiveInt, 10_000)
    .option('--json', 'the records as JSON')
    .action(async (workflowId: string, opts: { limit: number; json?: boolean }) => {
      const config = loadConfig();
      const list = await withStore(config, (store) => store.list({ workflowId, limit: opts.limit }));
      if (!list.length) throw new UserError(`no audit records for workflow "${workflowId}"`);
      if (opts.json) return io.out(json(list));
      io.out(
        table(
          list.map((r) => ({
            time: r.ts,
            seq: r.seq,
            actor: `${r.actor.kind}:${r.actor.id}`,
            type: r.type,
            summary: summarizeRecord(r),
          })),
          ['time', 'seq', 'actor', 'type', 'summary'],
        ),
      );
    });

  registerAuditExport(audit, io, withStore);

  audit
    .command('checkpoint')
    .description('sign a checkpoint of the current head now (appends sign one every N records or T seconds anyway)')
    .action(async () => {
      const config = loadConfig();
      const ledger = await AuditLedger.open(config);
      try {
        const cp = await ledger.checkpoint().catch((err: unknown) => {
          throw new UserError(`no checkpoint signed: ${(err as Error).message}`);
        });
        const head = await ledger.store.head();
        io.out(
          cp
            ? `checkpoint at seq ${cp.seq} signed by ${cp.keyId}`
            : head
              ? `seq ${head.seq} already has a checkpoint`
              : 'the ledger is empty: nothing to checkpoint',
        );
      } finally {
        await ledger.close();
      }
    });
}
