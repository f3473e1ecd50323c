import { AuditLedger, localPublicKeys, readPublicKeyFiles } from '../../audit';
import type { PublicKeys } from '../../audit';
import type { WardenConfig } from '../../config';
import type { AnyTool } from '../../tools/types';
import type { UseCaseContext } from '../contract';
import type { ControlCatalog } from './catalog/frameworks';
import { loadControlCatalog } from './catalog/frameworks';
import type { CollectorDeps } from './collectors/collector-tool';
import { createCredentialReportCollector } from './collectors/credential-report';
import { createGithubCollector } from './collectors/github';
import { createOktaCollector } from './collectors/okta';
import { createProwlerCollector } from './collectors/prowler';
import { createWardenCollector } from './collectors/warden';
import { EvidenceStore } from './evidence/store';
import { createEvidenceLookupTool } from './narrator/evidence-lookup';
import { createReportTool } from './report/report-tool';
import { createAssessTool } from './scoring/assess-tool';
import type { ComplianceSettings } from './settings';
import { parseComplianceSettings } from './settings';

/** What the tools need besides settings; tests inject their own ledger and clock. */
export interface ComplianceToolDeps {
  /** The worker's audit ledger; by default opened from config once per process. */
  ledger?: () => Promise<AuditLedger>;
  now?: () => Date;
}

/** The use case's settings from a use-case context (the core parses env; we add paths and defaults). */
export function settingsOf(ctx: Pick<UseCaseContext, 'settings' | 'config'>): ComplianceSettings {
  return parseComplianceSettings(ctx.settings, {
    dataDir: ctx.config.dataDir,
    oktaBaseUrl: ctx.config.containment.oktaBaseUrl,
  });
}

function trustedKeys(config: WardenConfig, ledger: AuditLedger | undefined): PublicKeys {
  return [
    ...(ledger ? [ledger.signer.publicKey] : []),
    ...readPublicKeyFiles(config.audit.publicKeyFiles, 'WARDEN_AUDIT_PUBLIC_KEYS'),
    ...localPublicKeys(config.audit.keysDir),
  ];
}

/**
 * Builds the compliance tools: five read-only collectors (Prowler, IAM credential report, Okta, GitHub,
 * Warden's ledger), `compliance_assess`, `compliance_evidence_lookup` (the narrator's only tool) and
 * `compliance_report`. The catalog is loaded on first use, so a bad catalog path fails the assess step
 * with a message naming the file instead of stopping the worker.
 */
export function createComplianceTools(
  ctx: Pick<UseCaseContext, 'settings' | 'config'>,
  deps: ComplianceToolDeps = {},
): AnyTool[] {
  const s = settingsOf(ctx);
  const store = new EvidenceStore(s.evidenceDir);
  let opened: Promise<AuditLedger> | undefined;
  let ledgerRef: AuditLedger | undefined;
  const ledger =
    deps.ledger ??
    (() =>
      (opened ??= AuditLedger.open(ctx.config).then((l) => {
        ledgerRef = l;
        return l;
      })));
  let catalog: ControlCatalog | undefined;
  const loadCatalog = () => (catalog ??= loadControlCatalog(s));
  const base: CollectorDeps = { store, ledger, ...(deps.now ? { now: deps.now } : {}) };
  const now = deps.now ? { now: deps.now } : {};
  return [
    createProwlerCollector(s.prowlerOutput, base),
    createCredentialReportCollector(
      s.credentialReport,
      { staleDays: s.staleDays, keyRotationDays: s.keyRotationDays },
      base,
    ),
    createOktaCollector({ oktaBaseUrl: s.oktaBaseUrl, staleDays: s.staleDays }, base),
    createGithubCollector({ apiUrl: s.githubApiUrl, repos: s.githubRepos, requiredReviews: s.requiredReviews }, base),
    createWardenCollector(
      {
        drillMaxAgeDays: s.drillMaxAgeDays,
        publicKeys: () => trustedKeys(ctx.config, ledgerRef),
      },
      {
        ...base,
        ledger: async () => {
          const l = await ledger();
          ledgerRef = l;
          return l;
        },
      },
    ),
    createAssessTool({ store, catalog: loadCatalog, ...now }),
    createEvidenceLookupTool({ store }),
    createReportTool({ store, ledger, ...now }),
  ] as AnyTool[];
}
