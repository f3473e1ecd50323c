import fs from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { WardenConfig } from '../config';
import { loadConfig } from '../config';
import { UserError } from '../errors';
import type { AuditRecord, AuditStore, HecEvent } from '../audit';
import { HecError, hecEndpoint, postToHec, toEcs, toOcsf, writeNdjson } from '../audit';
import type { CliIO } from './output';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

/** Pages through records in seq order (memory stays flat). */
async function* records(store: AuditStore, fromSeq: number, workflowId?: string): AsyncIterable<AuditRecord> {
  let next = fromSeq;
  for (;;) {
    const page = await store.list({ fromSeq: next, limit: 1000, ...(workflowId ? { workflowId } : {}) });
    yield* page;
    const last = page[page.length - 1];
    if (page.length < 1000 || !last) return;
    next = last.seq + 1;
  }
}

async function* mapped<T, U>(source: AsyncIterable<T>, fn: (t: T) => U): AsyncIterable<U> {
  for await (const t of source) yield fn(t);
}

interface ExportOptions {
  format: string;
  out?: string;
  fromSeq: number;
  workflow?: string;
  hecUrl?: string;
  hecToken?: string;
  hecTokenFile?: string;
  hecBatchSize: number;
  hecSourcetype?: string;
  hecIndex?: string;
}

function hecToken(opts: ExportOptions, config: WardenConfig, io: CliIO): string {
  if (opts.hecTokenFile) {
    try {
      const token = fs.readFileSync(opts.hecTokenFile, 'utf8').trim();
      if (token) return token;
    } catch (err) {
      throw new UserError(
        `cannot read --hec-token-file ${opts.hecTokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    throw new UserError(`--hec-token-file ${opts.hecTokenFile} is empty`);
  }
  if (opts.hecToken) {
    io.err(
      'warden: warning: --hec-token is visible to other users (ps, shell history); prefer WARDEN_HEC_TOKEN or --hec-token-file',
    );
    return opts.hecToken;
  }
  if (config.audit.hecToken) return config.audit.hecToken;
  throw new UserError('--hec-url needs a HEC token: set WARDEN_HEC_TOKEN or pass --hec-token-file FILE');
}

/** `warden audit export`: OCSF or ECS NDJSON to stdout, a file, or Splunk HEC. */
export function registerAuditExport(
  audit: Command,
  io: CliIO,
  withStore: <T>(config: WardenConfig, fn: (store: AuditStore) => Promise<T>) => Promise<T>,
): void {
  audit
    .command('export')
    .description('export records as OCSF API Activity (6003) or ECS NDJSON, to stdout, a file or Splunk HEC')
    .requiredOption('--format <format>', 'ocsf | ecs')
    .option('--out <file>', 'write NDJSON to this file (default: stdout, unless --hec-url)')
    .option('--from-seq <n>', 'start at this sequence number', positiveInt, 1)
    .option('--workflow <workflowId>', 'only this run')
    .option('--hec-url <url>', 'post to Splunk HEC at this base URL, e.g. https://splunk:8088')
    .option('--hec-token-file <file>', 'file holding the HEC token (or set WARDEN_HEC_TOKEN)')
    .option('--hec-token <token>', 'the HEC token (discouraged: visible in ps; use WARDEN_HEC_TOKEN)')
    .option('--hec-batch-size <n>', 'events per HEC request', positiveInt, 100)
    .option('--hec-sourcetype <type>', 'HEC sourcetype (default warden:audit:<format>)')
    .option('--hec-index <index>', 'HEC index (default: the token’s default index)')
    .action(async (opts: ExportOptions) => {
      if (opts.format !== 'ocsf' && opts.format !== 'ecs')
        throw new UserError(`--format takes ocsf or ecs, not "${opts.format}"`);
      const toEvent = (r: AuditRecord): object => (opts.format === 'ocsf' ? toOcsf(r) : toEcs(r));
      const config = loadConfig();
      const token = opts.hecUrl ? hecToken(opts, config, io) : undefined;
      const endpoint = opts.hecUrl ? hecEndpoint(opts.hecUrl) : undefined;
      await withStore(config, async (store) => {
        if (opts.out || !opts.hecUrl) {
          const events = mapped(records(store, opts.fromSeq, opts.workflow), toEvent);
          if (opts.out) {
            const out = fs.createWriteStream(opts.out, { mode: 0o600 });
            const n = await writeNdjson(events, out);
            await new Promise<void>((resolve, reject) =>
              out.end((err?: Error | null) => (err ? reject(err) : resolve())),
            );
            io.out(`exported ${n} ${opts.format.toUpperCase()} events to ${opts.out}`);
          } else {
            for await (const e of events) io.out(JSON.stringify(e));
          }
        }
        if (!opts.hecUrl || !token) return;
        const seqs: number[] = [];
        const hecEvents = mapped(records(store, opts.fromSeq, opts.workflow), (r): HecEvent => {
          seqs.push(r.seq);
          return {
            time: Date.parse(r.ts) / 1000,
            source: 'warden',
            sourcetype: opts.hecSourcetype ?? `warden:audit:${opts.format}`,
            ...(opts.hecIndex ? { index: opts.hecIndex } : {}),
            event: toEvent(r),
          };
        });
        try {
          const sent = await postToHec(hecEvents, { url: opts.hecUrl, token, batchSize: opts.hecBatchSize });
          const retried = sent.retries ? `, ${sent.retries} retried` : '';
          io.out(
            `sent ${sent.events} ${opts.format.toUpperCase()} events to ${endpoint} in ${sent.batches} batches${retried}`,
          );
        } catch (err) {
          if (!(err instanceof HecError)) throw err;
          const resume = seqs[err.sent];
          throw new UserError(
            `${err.message}; ${err.sent} events were sent${resume ? `: resume with --from-seq ${resume}` : ''}`,
          );
        }
      });
    });
}
