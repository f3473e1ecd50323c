import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UserError } from '../errors';
import { formatIssues } from '../governance/issues';
import { Playbook } from '../governance/steps';

/*
 * Where triggers get their playbooks: a file (YAML or JSON), or a playbook bundled with an installed use
 * case, named after its file (`src/usecases/<name>/playbooks/<playbook>.yaml`). Schedules and threshold
 * rules carry the playbook inline once resolved, so a run never depends on a file that changed later.
 */

/** Resolves a playbook reference (bundled name or file path) to a validated playbook. */
export type PlaybookResolver = (ref: string) => Playbook;

const USECASES_DIR = path.join(__dirname, '..', 'usecases');

/** The playbooks shipped in installed use-case folders, by name (file name without extension). */
export function bundledPlaybookFiles(usecasesDir = USECASES_DIR): Record<string, string> {
  const found: Record<string, string> = {};
  let useCases: string[] = [];
  try {
    useCases = fs.readdirSync(usecasesDir);
  } catch {
    return found;
  }
  for (const uc of useCases.sort()) {
    const dir = path.join(usecasesDir, uc, 'playbooks');
    let files: string[] = [];
    try {
      files = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files.sort()) {
      const m = /^(.+)\.(ya?ml|json)$/i.exec(f);
      if (m?.[1] && !(m[1] in found)) found[m[1]] = path.join(dir, f);
    }
  }
  return found;
}

/** Reads and validates a playbook file. @throws UserError naming the file and every problem. */
export function loadPlaybookFile(file: string): Playbook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read playbook ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UserError(
      `playbook ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  const parsed = Playbook.safeParse(data);
  if (!parsed.success) throw new UserError(`playbook ${file} is invalid: ${formatIssues(parsed.error, '(playbook)')}`);
  return parsed.data;
}

/**
 * A resolver for references that are either a file path (contains a `/` or ends in .yaml/.yml/.json;
 * relative to `baseDir`) or the name of a bundled playbook.
 * @param bundled name → file (default: {@link bundledPlaybookFiles}); the use-case registry can pass its own.
 */
export function playbookResolver(opts: { baseDir?: string; bundled?: Record<string, string> } = {}): PlaybookResolver {
  return (ref) => {
    if (/[/\\]/.test(ref) || /\.(ya?ml|json)$/i.test(ref)) {
      return loadPlaybookFile(path.resolve(opts.baseDir ?? process.cwd(), ref));
    }
    const bundled = opts.bundled ?? bundledPlaybookFiles();
    const file = bundled[ref];
    if (!file) {
      const known = Object.keys(bundled).join(', ') || 'none installed';
      throw new UserError(`unknown playbook "${ref}" — give a playbook file path or a bundled name (${known})`);
    }
    return loadPlaybookFile(file);
  };
}
