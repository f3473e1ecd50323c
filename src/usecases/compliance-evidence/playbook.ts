import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { Playbook } from '../../governance/steps';

/** The bundled playbook files by name. */
export const PLAYBOOK_FILES = {
  'compliance-evidence': path.join(__dirname, 'playbooks', 'compliance-evidence.yaml'),
  'compliance-drift-remediation': path.join(__dirname, 'playbooks', 'compliance-drift-remediation.yaml'),
};

/** The bundled compliance playbook, parsed and validated. @throws Error when the file is missing or invalid. */
export function compliancePlaybook(): Playbook {
  return Playbook.parse(YAML.parse(fs.readFileSync(PLAYBOOK_FILES['compliance-evidence'], 'utf8')));
}
