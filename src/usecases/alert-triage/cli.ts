import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { WardenClient } from '../../client';
import { withClient } from '../../cli/client';
import type { CliIO } from '../../cli/output';
import { json, keyValues } from '../../cli/output';
import { loadConfig } from '../../config';
import { UserError } from '../../errors';
import { loadSigner } from '../../identity/keyring';
import type { Signer } from '../../identity/keyring';
import type { RunPlaybookInput, RunPlaybookResult } from '../../workflows/catalog';
import { Verdict } from './tools/case';
import { loadTriagePlaybook } from './webhook';

/** The bundled playbook `warden triage verdict` runs: one `case_write` amendment. */
export const VERDICT_PLAYBOOK_FILE = path.join(__dirname, 'playbooks', 'alert-triage-verdict.yaml');

/** What a triage run's input holds (the webhook's, or a retriage's). */
interface TriageInput {
  alert?: { alertId?: string; title?: string };
  settings?: Record<string, unknown>;
  retriage?: { of: string; reason: string; by: string };
}

/**
 * The triage run an argument names: a workflow id as is, else an alert id, matched against the business
 * keys `alert-<source>-<alertId>` of the original runs (retriage and verdict runs are not originals).
 * @throws UserError when nothing or more than one run matches.
 */
export async function resolveTriageRun(client: WardenClient, ref: string): Promise<string> {
  if (ref.startsWith('alert-')) {
    await client.describe(ref); // throws "no run" when absent
    return ref;
  }
  const key = ref.replace(/[^A-Za-z0-9._:@-]/g, '_');
  const runs = await client.list({ query: 'WorkflowType = "runPlaybook"', limit: 5000 });
  const matches = runs
    .map((r) => r.workflowId)
    .filter((id) => id.startsWith('alert-') && id.endsWith(`-${key}`) && !id.includes('--'));
  if (matches.length === 1) return matches[0]!;
  if (!matches.length)
    throw new UserError(`no triage run for alert ${ref} (give its workflow id, alert-<source>-<id>)`);
  throw new UserError(`alert id ${ref} matches several runs (${matches.join(', ')}): give the workflow id`);
}

/** The first free id `<base>--<kind>-<n>`: each deliberate re-run or correction is its own recorded run. */
async function nextId(client: WardenClient, base: string, kind: string): Promise<string> {
  for (let n = 1; n < 1000; n++) {
    const id = `${base}--${kind}-${n}`;
    const exists = await client.describe(id).then(
      () => true,
      (err: unknown) => {
        if (err instanceof UserError) return false;
        throw err;
      },
    );
    if (!exists) return id;
  }
  throw new UserError(`${base} already has 999 ${kind} runs`);
}

/** The caller's signing key: these runs change the record, so an unverified start is refused here. */
function signerOf(as: string | undefined): Signer {
  const principal = as ?? os.userInfo().username;
  return loadSigner(loadConfig().keysDir, principal);
}

function requireReason(reason: string | undefined): string {
  const r = reason?.trim();
  if (!r) throw new UserError('--reason is required: say why (it is signed and recorded with the run)');
  if (r.length > 2000) throw new UserError('--reason is longer than 2000 characters');
  return r;
}

/** Registers `warden retriage` and `warden triage verdict`. */
export function registerTriageCommands(program: Command, io: CliIO): void {
  program
    .command('retriage')
    .description('Re-run an alert through triage deliberately: a new run, recorded with who, why and which original')
    .argument('<alertIdOrWorkflowId>', 'the alert id, or the original run’s workflow id (alert-<source>-<id>)')
    .requiredOption('--reason <text>', 'why (signed and recorded)')
    .option('--as <user>', 'who re-runs it (signs with your key)')
    .option('--wait', 'wait for the run and print where its case is')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, o: { reason?: string; as?: string; wait?: boolean; json?: boolean }) => {
      const reason = requireReason(o.reason);
      const signer = signerOf(o.as);
      await withClient(async (client) => {
        const original = await resolveTriageRun(client, ref);
        const before = await client.startInput<Partial<RunPlaybookInput>>(original);
        const input = (before.input ?? {}) as TriageInput;
        if (!input.alert) throw new UserError(`run ${original} is not an alert triage run (its input has no alert)`);
        // Ids stay flat: a retriage of a retriage is the alert's next retriage (its input names the run it re-ran).
        const workflowId = await nextId(client, original.split('--')[0]!, 'retriage');
        const started = await client.start(
          'runPlaybook',
          {
            playbook: loadTriagePlaybook(),
            input: { ...input, retriage: { of: original, reason, by: signer.principal } },
            initiator: signer.principal,
            trigger: { type: 'retriage', ref: original },
          },
          {
            workflowId,
            signer,
            summary: `retriage of ${original} by ${signer.principal}: ${input.alert.title ?? ''}`.slice(0, 200),
          },
        );
        const out: Record<string, unknown> = {
          retriage: original,
          workflowId: started.workflowId,
          by: signer.principal,
        };
        if (o.wait) {
          const r = await client
            .result<RunPlaybookResult>(workflowId)
            .then((res) => ({
              status: res.status,
              case: (res.outputs.case as { markdownPath?: string })?.markdownPath,
            }))
            .catch((err: Error) => ({ status: 'failed', error: err.message }));
          Object.assign(out, r);
        }
        io.out(o.json ? json(out) : keyValues(out));
      });
    });

  const group = program.command('triage').description('Alert triage: record a human’s corrected verdict');
  group
    .command('verdict')
    .description('Record a corrected verdict on an alert’s case, as a signed run in the audit ledger')
    .argument('<alertIdOrWorkflowId>', 'the alert id, or the triage run’s workflow id')
    .requiredOption('--verdict <verdict>', `the corrected verdict: ${Verdict.options.join('|')}`)
    .requiredOption('--reason <text>', 'why (signed and recorded)')
    .option('--as <user>', 'who corrects it (signs with your key)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, o: { verdict: string; reason?: string; as?: string; json?: boolean }) => {
      const verdict = Verdict.safeParse(o.verdict);
      if (!verdict.success)
        throw new UserError(`--verdict must be one of ${Verdict.options.join(', ')} (got "${o.verdict}")`);
      const reason = requireReason(o.reason);
      const signer = signerOf(o.as);
      await withClient(async (client) => {
        const run = ref.startsWith('alert-') ? ref : await resolveTriageRun(client, ref);
        const workflowId = await nextId(client, run, 'verdict');
        await client.start(
          'runPlaybook',
          {
            playbook: loadTriagePlaybook(VERDICT_PLAYBOOK_FILE),
            input: { workflowId: run, verdict: verdict.data, reason },
            initiator: signer.principal,
            trigger: { type: 'verdict-correction', ref: run },
          },
          { workflowId, signer, summary: `verdict correction of ${run} by ${signer.principal}: ${verdict.data}` },
        );
        const res = await client.result<RunPlaybookResult>(workflowId).catch((err: Error) => {
          throw new UserError(`the correction run ${workflowId} failed: ${err.message}`);
        });
        const written = res.outputs.amend as { markdownPath?: string } | undefined;
        const out = {
          corrected: run,
          verdict: verdict.data,
          by: signer.principal,
          workflowId,
          case: written?.markdownPath,
        };
        io.out(o.json ? json(out) : keyValues(out));
      });
    });
}
