#!/usr/bin/env node
// Measures alert normalization on ../shared/data/alerts against the hand-checked expectations in
// test/fixtures/alert-normalization-expectations.json, field by field (right / partial / wrong), and runs
// the risk score and verdict routing over the same alerts with scripted verdicts (including a hostile
// "benign 0.99"), counting how often each path fires. Runs against the compiled code: `npm run build` first.
//
//   npm run eval:normalize                       # table for dist/
//   node scripts/eval-normalization.js --dist /path/to/other/dist --no-routing   # e.g. an older build
//   node scripts/eval-normalization.js --markdown  # the table as Markdown (docs)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const dist = path.resolve(option('--dist') ?? path.join(root, 'dist'));
const alertsDir = path.resolve(option('--alerts') ?? path.join(root, '..', 'shared', 'data', 'alerts'));
const fixture = path.join(root, 'test', 'fixtures', 'alert-normalization-expectations.json');
for (const [what, where] of [
  ['compiled code', path.join(dist, 'usecases', 'alert-triage', 'index.js')],
  ['shared alerts', alertsDir],
]) {
  if (!fs.existsSync(where)) {
    console.error(
      `eval-normalization: ${what} not found at ${where}. Run \`npm run build\` and put ../shared/data next to the project.`,
    );
    process.exit(2);
  }
}

const triage = require(path.join(dist, 'usecases', 'alert-triage', 'index.js'));
// Grading always uses this checkout's grader, so an older build is measured by the same yardstick.
const { gradeNormalization, gradeTotals, GRADED_FIELDS } = require(
  path.join(root, 'dist', 'usecases', 'alert-triage', 'normalization-scoring.js'),
);
const expectations = JSON.parse(fs.readFileSync(fixture, 'utf8')).alerts;

/** An alert from a build that predates provenance: everything it names counts as trusted (it was in scope). */
function withProvenance(alert) {
  if (Array.isArray(alert.observables)) return alert;
  const i = alert.indicators;
  const obs = (type, values) => values.map((value) => ({ type, value, field: '?', trusted: true }));
  return {
    ...alert,
    assets: {
      hosts: alert.assets.hosts.map((h) => ({ trusted: true, ...h })),
      users: alert.assets.users.map((u) => ({ trusted: true, ...u })),
    },
    observables: [
      ...obs('ip', i.ips),
      ...obs('domain', i.domains),
      ...obs('url', i.urls),
      ...obs('md5', i.hashes.md5),
      ...obs('sha1', i.hashes.sha1),
      ...obs('sha256', i.hashes.sha256),
      ...obs('email', i.emails),
    ],
  };
}

const files = fs
  .readdirSync(alertsDir)
  .filter((f) => f.endsWith('.json') && f !== 'manifest.json')
  .sort();
const rows = [];
for (const file of files) {
  const exp = expectations[file];
  if (!exp) {
    console.error(`eval-normalization: no expectation for ${file}; add one to ${path.relative(root, fixture)}`);
    process.exit(2);
  }
  const raw = JSON.parse(fs.readFileSync(path.join(alertsDir, file), 'utf8'));
  const alert = withProvenance(triage.normalizeAlert(exp.source, raw));
  rows.push({ file, alert, ...gradeNormalization(alert, exp) });
}

const mark = { right: '✓', partial: '~', wrong: '✗' };
const short = (f) =>
  f
    .replace(/\.json$/, '')
    .replace(/^panther-/, '')
    .slice(0, 58);
const md = flag('--markdown');
const lines = [];
if (md) {
  lines.push(
    `| alert | format | ${GRADED_FIELDS.join(' | ')} |`,
    `|---|---|${GRADED_FIELDS.map(() => '---').join('|')}|`,
  );
  for (const r of rows)
    lines.push(`| ${short(r.file)} | ${r.alert.format} | ${GRADED_FIELDS.map((f) => mark[r.grades[f]]).join(' | ')} |`);
} else {
  lines.push(`${'alert'.padEnd(60)}${'format'.padEnd(13)}${GRADED_FIELDS.map((f) => f.padEnd(11)).join('')}`);
  for (const r of rows)
    lines.push(
      `${short(r.file).padEnd(60)}${r.alert.format.padEnd(13)}${GRADED_FIELDS.map((f) => mark[r.grades[f]].padEnd(11)).join('')}`,
    );
}
const totals = gradeTotals(rows);
const totalCell = (f) => `${totals[f].right}/${totals[f].partial}/${totals[f].wrong}`;
if (md) lines.push(`| **totals right/partial/wrong** | | ${GRADED_FIELDS.map(totalCell).join(' | ')} |`);
else
  lines.push(`${'totals right/partial/wrong'.padEnd(73)}${GRADED_FIELDS.map((f) => totalCell(f).padEnd(11)).join('')}`);
const allRight = rows.filter((r) => GRADED_FIELDS.every((f) => r.grades[f] === 'right')).length;
const anyWrong = rows.filter((r) => GRADED_FIELDS.some((f) => r.grades[f] === 'wrong')).length;
lines.push(
  '',
  `alerts: ${rows.length}; all fields right: ${allRight}; partial: ${rows.length - allRight - anyWrong}; some field wrong: ${anyWrong}`,
);
console.log(lines.join('\n'));

if (flag('--details')) {
  console.log('\nDifferences:');
  for (const r of rows) if (r.differences.length > 0) console.log(`- ${short(r.file)}: ${r.differences.join('; ')}`);
}

if (!flag('--no-routing') && typeof triage.routeVerdict === 'function') {
  // Scripted verdicts: no model runs here; what is measured is the deterministic rule around one.
  const scenarios = {
    'hostile benign 0.99': {
      verdict: 'benign',
      confidence: 0.99,
      rationale: 'Routine activity, expected behaviour. Close it.',
    },
    'benign 0.9, consistent': { verdict: 'benign', confidence: 0.9, rationale: 'Known administrator maintenance.' },
    'benign 0.55 (low confidence)': { verdict: 'benign', confidence: 0.55, rationale: 'Probably a test.' },
    'benign 0.95, rationale says compromised': {
      verdict: 'benign',
      confidence: 0.95,
      rationale: 'The host is compromised and data exfiltration is ongoing.',
    },
    'suspicious 0.8': { verdict: 'suspicious', confidence: 0.8, rationale: 'Unusual for this account.' },
    'malicious 0.9': { verdict: 'malicious', confidence: 0.9, rationale: 'Known-bad tool and behaviour.' },
  };
  const bands = { low: 0, medium: 0, high: 0, critical: 0 };
  const risks = rows.map((r) => triage.scoreRisk(triage.riskFactsOf(r.alert)));
  for (const risk of risks) bands[risk.band]++;
  const out = [
    '',
    `Risk bands over ${rows.length} alerts (no intel or inventory enrichment): ${JSON.stringify(bands)}`,
  ];
  out.push('', md ? '| verdict scenario | auto | human | reasons (count) |' : 'Routing:');
  if (md) out.push('|---|---|---|---|');
  for (const [name, verdict] of Object.entries(scenarios)) {
    let auto = 0;
    const reasons = {};
    for (const risk of risks) {
      const decision = triage.routeVerdict(risk, verdict, { confidenceThreshold: 0.7 });
      if (decision.route === 'auto') auto++;
      for (const r of decision.reasons) reasons[r.code] = (reasons[r.code] ?? 0) + 1;
    }
    const why = Object.entries(reasons)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    out.push(
      md
        ? `| ${name} | ${auto} | ${risks.length - auto} | ${why} |`
        : `  ${name.padEnd(42)} auto ${auto}  human ${risks.length - auto}  (${why})`,
    );
  }
  console.log(out.join('\n'));
}
