import { z } from 'zod';
import { defineTool } from '../../../tools/types';
import { evidenceHash } from '../evidence/model';
import type { EvidenceStore } from '../evidence/store';
import { callRef } from '../evidence/store';

/** What the narrator sees of one evidence item: its identity, hash and (truncated) content. */
export const EvidenceLookupOutput = z.object({
  found: z.boolean(),
  id: z.string(),
  source: z.string().optional(),
  kind: z.string().optional(),
  subject: z.string().optional(),
  sha256: z.string().optional(),
  /** The item's data as JSON, cut at 4000 characters. */
  data: z.string().optional(),
});

/**
 * `compliance_evidence_lookup`: one evidence item of the calling run (the run comes from the call, so an
 * agent cannot read another run's evidence). Read-only.
 */
export function createEvidenceLookupTool(deps: { store: EvidenceStore }) {
  return defineTool({
    name: 'compliance_evidence_lookup',
    description: 'Returns one evidence item of this run by its id (source, subject, sha256 and its data).',
    input: z.object({ evidenceId: z.string().min(1).max(300).describe('An evidence id given in the task.') }),
    output: EvidenceLookupOutput,
    risk: 'read',
    capabilities: [],
    summarize: (args) => `evidence ${args.evidenceId}`,
    execute(args, ctx) {
      const { workflowId } = callRef(ctx.idempotencyKey);
      for (const name of deps.store.listBundles(workflowId)) {
        const bundle = deps.store.readBundle(workflowId, name);
        const item = bundle.items.find((i) => i.id === args.evidenceId);
        if (item)
          return Promise.resolve({
            found: true,
            id: item.id,
            source: item.source,
            kind: item.kind,
            subject: item.subject,
            sha256: evidenceHash(item),
            data: JSON.stringify(item.data).slice(0, 4000),
          });
      }
      return Promise.resolve({ found: false, id: args.evidenceId });
    },
  });
}
