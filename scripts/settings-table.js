#!/usr/bin/env node
// Prints the README "Configuration" table from src/config.ts SETTINGS (run `npm run build` first).
// Usage: node scripts/settings-table.js            → prints the table
//        node scripts/settings-table.js --write    → replaces the table in README.md
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { SETTINGS, SECRET_SETTINGS } = require('../dist/config.js');

const rows = Object.entries(SETTINGS).map(([name, s]) => {
  let def;
  try {
    def = s.schema.parse(undefined);
  } catch {
    def = undefined;
  }
  const shown = def === undefined || def === '' || (SECRET_SETTINGS && SECRET_SETTINGS.has(name)) ? '—' : `\`${def}\``;
  return `| \`${name}\` | ${shown} | ${s.doc.replace(/\|/g, '\\|')} |`;
});
const table = ['| setting | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
if (!process.argv.includes('--write')) {
  console.log(table);
  process.exit(0);
}
const readme = path.join(__dirname, '..', 'README.md');
const lines = fs.readFileSync(readme, 'utf8').split('\n');
const start = lines.findIndex((l) => l.startsWith('| setting |'));
let end = start;
while (end < lines.length && lines[end].startsWith('|')) end++;
if (start < 0) throw new Error('README.md has no settings table ("| setting | default | meaning |")');
lines.splice(start, end - start, ...table.split('\n'));
fs.writeFileSync(readme, lines.join('\n'));
console.log(`README.md: ${rows.length} settings`);
