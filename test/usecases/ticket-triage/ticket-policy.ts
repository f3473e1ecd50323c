import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Policy } from '../../../src/governance/policy';
import { parsePolicy } from '../../../src/runtime/policy-file';
import { useCase } from '../../../src/usecases/ticket-triage';
import { ROOT } from '../../harness/cli';
import { withTestPrincipals } from '../../harness/identity';

/**
 * The default policy with ticket triage's fragment appended, as the core will merge it (until the registry
 * lands and does so itself for policies with `useCaseRules: true`).
 */
export function ticketPolicy(extraRules: unknown[] = []): Policy {
  const base = YAML.parse(fs.readFileSync(path.join(ROOT, 'policy', 'default.yaml'), 'utf8')) as { rules: unknown[] };
  const fragment = YAML.parse(fs.readFileSync(useCase.policyRules!, 'utf8')) as { rules: unknown[] };
  return withTestPrincipals(
    parsePolicy({ ...base, rules: [...base.rules, ...fragment.rules, ...extraRules] }, 'default+ticket-triage'),
  );
}
