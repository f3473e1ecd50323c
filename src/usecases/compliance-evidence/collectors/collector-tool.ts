import type { z } from 'zod';
import type { AuditLedger } from '../../../audit';
import type { Capability, ToolContext, ToolDefinition } from '../../../tools/types';
import { defineTool } from '../../../tools/types';
import { recordEvidenceHashes } from '../evidence/ledger';
import type { CheckResult, EvidenceItem } from '../evidence/model';
import { CollectionSummary, EvidenceBundle, evidenceHash } from '../evidence/model';
import { EvidenceStore, callRef } from '../evidence/store';

/** What every collector needs: where evidence goes and the ledger its hashes go to. */
export interface CollectorDeps {
  store: EvidenceStore;
  /** The worker's audit ledger (opened once per process). */
  ledger: () => Promise<AuditLedger>;
  /** Clock (tests). */
  now?: () => Date;
}

/** What a source yields: evidence items and the checks they decide. */
export interface Collected {
  items: EvidenceItem[];
  checks: CheckResult[];
}

/** A collector: a read-only tool over one source. */
export interface CollectorSpec<I extends z.ZodType> {
  name: string;
  description: string;
  source: string;
  input: I;
  capabilities: Capability[];
  integration?: string;
  summarize?(args: z.output<I>): string;
  collect(args: z.output<I>, ctx: ToolContext, now: Date): Promise<Collected>;
}

/**
 * Builds a collector tool. It reads its source, stores the evidence bundle once per call (a retried call
 * reuses the first attempt's bundle, whose hashes the ledger may already hold), appends every item's
 * sha256 to the audit ledger, and returns a small summary for the workflow. Risk `read`: it changes
 * nothing at the source.
 */
export function defineCollector<I extends z.ZodType>(
  spec: CollectorSpec<I>,
  deps: CollectorDeps,
): ToolDefinition<I, typeof CollectionSummary> {
  return defineTool({
    name: spec.name,
    description: spec.description,
    input: spec.input,
    output: CollectionSummary,
    risk: 'read',
    capabilities: spec.capabilities,
    integration: spec.integration ?? spec.source,
    ...(spec.summarize ? { summarize: spec.summarize.bind(spec) } : {}),
    async execute(args, ctx) {
      const ref = callRef(ctx.idempotencyKey);
      let bundle = deps.store.existingBundle(ref);
      let written: { name: string; sha256: string };
      if (bundle) {
        written = { name: EvidenceStore.bundleName(ref), sha256: evidenceHash(bundle) };
      } else {
        const now = (deps.now ?? (() => new Date()))();
        const got = await spec.collect(args, ctx, now);
        bundle = EvidenceBundle.parse({
          version: 1,
          ...ref,
          source: spec.source,
          collectedAt: now.toISOString(),
          items: got.items,
          checks: got.checks,
        });
        const ids = new Set<string>();
        for (const i of bundle.items) {
          if (ids.has(i.id)) throw new Error(`${spec.name}: evidence id ${i.id} is used twice (a Warden defect)`);
          ids.add(i.id);
        }
        written = deps.store.writeBundle(bundle);
      }
      const ledgerSeqs = await recordEvidenceHashes(await deps.ledger(), ref, bundle, written);
      ctx.logger.info({ tool: spec.name, items: bundle.items.length, bundle: written.name }, 'evidence collected');
      return {
        source: spec.source,
        collectedAt: bundle.collectedAt,
        bundle: written.name,
        bundleSha256: written.sha256,
        items: bundle.items.length,
        checks: bundle.checks.map(({ checkId, status, summary, passed, failed, total }) => ({
          checkId,
          status,
          summary,
          passed,
          failed,
          total,
        })),
        ledgerSeqs,
      };
    },
  });
}
