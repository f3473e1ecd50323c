import path from 'node:path';
import type { ScheduleDeclaration, UseCase } from '../contract';
import { registerComplianceCommands } from './cli';
import { runComplianceDemo } from './demo';
import { complianceNarrator } from './narrator/agent';
import { PLAYBOOK_FILES } from './playbook';
import { settings } from './settings';
import { createComplianceTools } from './tools';

/** The daily collection: every source, scoring, narratives, attestation, report and drift. */
export const COMPLIANCE_SCHEDULE: ScheduleDeclaration = {
  id: 'compliance-evidence-daily',
  description: 'Continuous compliance evidence: collect, score, attest, report, detect drift (daily, 06:00 UTC)',
  cron: ['0 6 * * *'],
  playbook: 'compliance-evidence',
  input: { attestation: true, narrate: true },
  enabledByDefault: false,
};

/**
 * Continuous compliance evidence: read-only collectors (Prowler OCSF, AWS IAM credential report, Okta,
 * GitHub, Warden's own ledger) → deterministic control scoring for SP 800-53 rev5 (OSCAL catalog +
 * profile) and SOC 2 → drafted narratives → human attestation → OSCAL assessment results, HTML/PDF
 * report, evidence hashes in the audit ledger, drift events.
 */
export const useCase: UseCase = {
  name: 'compliance-evidence',
  description: 'Continuous compliance evidence for SP 800-53 and SOC 2, with OSCAL results and drift alerts',
  settings,
  agents: [complianceNarrator],
  tools: (ctx) => createComplianceTools(ctx),
  playbooks: { ...PLAYBOOK_FILES },
  policyRules: path.join(__dirname, 'policy.yaml'),
  schedules: [COMPLIANCE_SCHEDULE],
  thresholdRules: path.join(__dirname, 'threshold-rules.yaml'),
  demo: runComplianceDemo,
  cli: registerComplianceCommands,
};

export { complianceNarrator } from './narrator/agent';
export { createComplianceTools } from './tools';
export { detectDrift, driftTriggerInput, ComplianceDriftEvent } from './drift';
export { loadControlCatalog } from './catalog/frameworks';
export { resolveProfile, catalogBaseline } from './catalog/oscal';
