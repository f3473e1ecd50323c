import os from 'node:os';
import type { Command } from 'commander';
import { localPublicKeys, openAuditStore, readPublicKeyFiles } from '../../audit';
import { withClient } from '../../cli/client';
import type { CliIO } from '../../cli/output';
import { json, table } from '../../cli/output';
import { loadConfig } from '../../config';
import { UserError } from '../../errors';
import { detectDrift } from './drift';
import { verifyRunEvidence } from './evidence/ledger';
import { EvidenceStore } from './evidence/store';
import { compliancePlaybook } from './playbook';
import type { Assessment } from './scoring/assess-tool';
import { totals } from './scoring/score';
import { parseComplianceSettings } from './settings';

function context() {
  const config = loadConfig();
  // The CLI hook has no use-case context: settings come from the same environment the core reads.
  const s = parseComplianceSettings(process.env, {
    dataDir: config.dataDir,
    oktaBaseUrl: config.containment.oktaBaseUrl,
  });
  return { config, s, store: new EvidenceStore(s.evidenceDir) };
}

function assessmentOf(store: EvidenceStore, id: string | undefined, offset = 0): Assessment {
  const runs = store.assessedRuns();
  const pick = id ?? runs[runs.length - 1 - offset]?.workflowId;
  if (!pick) throw new UserError('no compliance run has been reported yet: run `warden compliance run` first');
  const a = store.readRunJson<Assessment>(pick, 'assessment.json');
  if (!a) throw new UserError(`run ${pick} has no compliance report (still running, or not a compliance run)`);
  return a;
}

/** Registers `warden compliance run|report|diff|verify-evidence`. */
export function registerComplianceCommands(program: Command, io: CliIO): void {
  const group = program.command('compliance').description('Continuous compliance evidence (SP 800-53, SOC 2)');
  group
    .command('run')
    .description('Start a collection now: collect, score, narrate, attest, report')
    .option('--no-attest', 'skip the attestation approval (attested controls stay needs-human)')
    .option('--no-narrate', 'skip the narrator agent')
    .option('--id <workflowId>', 'workflow id (business key)')
    .option('--as <user>', 'initiator recorded on the run (may not attest it)')
    .option('--wait', 'wait for the report and print where it is')
    .action(async (o: { attest: boolean; narrate: boolean; id?: string; as?: string; wait?: boolean }) => {
      const { config } = context();
      await withClient(async (client) => {
        const workflowId = o.id ?? `compliance-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await client.start(
          'runPlaybook',
          {
            playbook: compliancePlaybook(),
            input: { attestation: o.attest, narrate: o.narrate },
            initiator: o.as ?? os.userInfo().username,
          },
          { workflowId, summary: 'compliance evidence collection' },
        );
        io.out(`started ${workflowId}${o.attest ? ' (attestation waits for `warden approvals`)' : ''}`);
        if (o.wait) {
          const r = await client.result<{ outputs: { report?: { files: Record<string, string> } } }>(workflowId);
          io.out(json(r.outputs.report?.files ?? {}));
        }
      }, config);
    });
  group
    .command('report [workflowId]')
    .description("Show a run's compliance results and report files (default: the latest)")
    .option('--json', 'machine-readable output')
    .action((id: string | undefined, o: { json?: boolean }) => {
      const { store } = context();
      const a = assessmentOf(store, id);
      const t = totals(a.controls);
      if (o.json)
        return void io.out(
          json({
            workflowId: a.workflowId,
            completedAt: a.completedAt,
            totals: t,
            reportDir: store.runDir(a.workflowId),
          }),
        );
      io.out(`run ${a.workflowId}, completed ${a.completedAt ?? '-'}`);
      io.out(
        table(
          Object.entries(t).map(([framework, c]) => ({ framework, ...c })),
          ['framework', 'pass', 'fail', 'partial', 'needs-human'],
        ),
      );
      io.out(`report: ${store.runDir(a.workflowId)}/report/report.html (and report.pdf, assessment-results.json)`);
    });
  group
    .command('diff [from] [to]')
    .description('Controls whose status changed between two runs (default: the latest two)')
    .option('--json', 'machine-readable output')
    .action((from: string | undefined, to: string | undefined, o: { json?: boolean }) => {
      const { store } = context();
      const b = assessmentOf(store, to);
      const a = from ? assessmentOf(store, from) : assessmentOf(store, undefined, 1);
      const d = detectDrift(a, b, new Date().toISOString());
      if (o.json) return void io.out(json(d));
      io.out(
        `from ${a.workflowId} to ${b.workflowId}: ${d.newlyFailing.length} newly failing, ${d.recovered.length} recovered`,
      );
      io.out(
        table(
          [
            ...d.newlyFailing.map((x) => ({ ...x, change: 'newly failing' })),
            ...d.recovered.map((x) => ({ ...x, change: 'recovered' })),
          ],
          ['change', 'framework', 'controlId', 'was', 'now', 'title'],
        ),
      );
    });
  group
    .command('verify-evidence [workflowId]')
    .description("Recompute every evidence item's and report file's sha256 and check them against the audit ledger")
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, o: { json?: boolean }) => {
      const { config, store } = context();
      const workflowId = id ?? assessmentOf(store, undefined).workflowId;
      const audit = await openAuditStore(config, { create: false });
      try {
        const keys = [
          ...readPublicKeyFiles(config.audit.publicKeyFiles, 'WARDEN_AUDIT_PUBLIC_KEYS'),
          ...localPublicKeys(config.audit.keysDir),
        ];
        const r = await verifyRunEvidence(audit, store, workflowId, keys);
        if (o.json) io.out(json(r));
        else
          io.out(
            `${r.ok ? 'evidence OK' : 'evidence NOT OK'}: ${r.itemsVerified} item(s) and ${r.filesVerified} report file(s) match the ledger; ledger ${r.ledger.ok ? 'verifies' : 'does not verify'}`,
          );
        if (!r.ok)
          throw new UserError(`evidence of ${workflowId} does not verify: ${r.problems.slice(0, 5).join('; ')}`);
      } finally {
        await audit.close();
      }
    });
}
