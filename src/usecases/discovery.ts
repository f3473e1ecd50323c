import fs from 'node:fs';
import path from 'node:path';
import type { SettingsTable } from '../settings';

/*
 * Finds the installed use cases: every folder beside this file with an `index` module. Installing a use
 * case is adding its folder; nothing in the core names one. This module loads only the folders'
 * `settings` modules (zod tables), so configuration can learn every setting without loading use cases.
 */

const MODULE_EXTENSIONS = ['.js', '.ts'];

function hasModule(dir: string, name: string): boolean {
  return MODULE_EXTENSIONS.some((ext) => fs.existsSync(path.join(dir, `${name}${ext}`)));
}

/** Names of the installed use cases (their folder names), sorted. */
export function installedUseCaseNames(root: string = __dirname): string[] {
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && hasModule(path.join(root, e.name), 'index'))
    .map((e) => e.name)
    .sort();
}

/** Each installed use case's settings table (empty when it has no `settings` module), by use-case name. */
export function installedSettingTables(root: string = __dirname): Record<string, SettingsTable> {
  const out: Record<string, SettingsTable> = {};
  for (const name of installedUseCaseNames(root)) {
    const dir = path.join(root, name);
    out[name] = hasModule(dir, 'settings')
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- settings are discovered at run time
        ((require(path.join(dir, 'settings')) as { settings?: SettingsTable }).settings ?? {})
      : {};
  }
  return out;
}
