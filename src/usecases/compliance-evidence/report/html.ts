import type { ComplianceDriftEvent, Trend } from '../drift';
import type { RecordedNarrative } from '../narrator/narratives';
import type { Assessment } from '../scoring/assess-tool';
import type { ControlResult, ControlStatus } from '../scoring/score';
import { familyTotals } from '../scoring/score';

/** Everything a readable report shows. */
export interface ReportModel {
  assessment: Assessment;
  narratives: RecordedNarrative[];
  trend: Trend;
  drift?: ComplianceDriftEvent;
  attestation?: { state: 'granted' | 'rejected'; by: string[]; reason?: string };
  generatedAt: string;
}

/** Status order in the report: failing controls first. */
export const STATUS_ORDER: ControlStatus[] = ['fail', 'partial', 'needs-human', 'pass'];
/** Colours of the chart and badges. */
export const STATUS_COLOUR: Record<ControlStatus, string> = {
  fail: '#c62828',
  partial: '#ef6c00',
  'needs-human': '#6d6d9c',
  pass: '#2e7d32',
};

/** Escapes text for HTML: every string in the report comes from evidence or config, i.e. untrusted. */
export function esc(v: unknown): string {
  const text =
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
      ? String(v)
      : v === null || v === undefined
        ? ''
        : JSON.stringify(v);
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Controls sorted failing first, then by framework and id. */
export function orderedControls(controls: ControlResult[]): ControlResult[] {
  return [...controls].sort(
    (a, b) =>
      STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) ||
      a.framework.localeCompare(b.framework) ||
      a.controlId.localeCompare(b.controlId, undefined, { numeric: true }),
  );
}

function familyChart(a: Assessment, framework: string): string {
  const fams = familyTotals(a.controls, framework);
  const rowH = 18;
  const width = 640;
  const labelW = 220;
  const max = Math.max(1, ...fams.map((f) => STATUS_ORDER.reduce((n, s) => n + f[s], 0)));
  const rows = fams
    .map((f, i) => {
      let x = labelW;
      const bars = STATUS_ORDER.map((s) => {
        const w = (f[s] / max) * (width - labelW - 10);
        const rect =
          w > 0
            ? `<rect x="${x.toFixed(1)}" y="${i * rowH + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${STATUS_COLOUR[s]}"><title>${esc(`${f.title}: ${f[s]} ${s}`)}</title></rect>`
            : '';
        x += w;
        return rect;
      }).join('');
      return `<text x="0" y="${i * rowH + 13}" font-size="11">${esc(`${f.family.toUpperCase()} ${f.title}`.slice(0, 34))}</text>${bars}`;
    })
    .join('');
  return `<svg class="chart" role="img" aria-label="controls per family by status" width="${width}" height="${fams.length * rowH + 4}" xmlns="http://www.w3.org/2000/svg">${rows}</svg>`;
}

function trendTable(t: Trend): string {
  const fws = Object.keys(t.now);
  const cell = (fw: string, s: ControlStatus) => {
    const now = t.now[fw]?.[s] ?? 0;
    const prev = t.previous?.[fw]?.[s];
    const delta = prev === undefined ? '' : now - prev === 0 ? ' (=)' : ` (${now - prev > 0 ? '+' : ''}${now - prev})`;
    return `<td>${now}${esc(delta)}</td>`;
  };
  return `<table><tr><th>Framework</th>${STATUS_ORDER.map((s) => `<th>${s}</th>`).join('')}</tr>${fws
    .map((fw) => `<tr><td>${esc(fw)}</td>${STATUS_ORDER.map((s) => cell(fw, s)).join('')}</tr>`)
    .join('')}</table><p class="muted">${
    t.previousWorkflowId
      ? `Change against the previous run ${esc(t.previousWorkflowId)} (${esc(t.previousCompletedAt)}).`
      : 'First run: no previous run to compare with.'
  }</p>`;
}

/** Renders the report as one self-contained HTML page. */
export function renderHtml(m: ReportModel): string {
  const a = m.assessment;
  const drafts = new Map(m.narratives.map((n) => [`${n.framework}\u0000${n.controlId}`, n]));
  const controlRows = orderedControls(a.controls)
    .map((c) => {
      const d = drafts.get(`${c.framework}\u0000${c.controlId}`);
      return `<tr class="${c.status}"><td><span class="badge" style="background:${STATUS_COLOUR[c.status]}">${c.status}</span></td><td>${esc(c.framework)}</td><td><b>${esc(c.label)}</b> ${esc(c.title)}</td><td>${esc(c.reason)}${
        c.attestedBy?.length ? `<br><i>attested by ${esc(c.attestedBy.join(', '))}</i>` : ''
      }${c.remediation.length ? `<ul>${c.remediation.map((r) => `<li>Remediation: ${esc(r)}</li>`).join('')}</ul>` : ''}${
        d
          ? `<div class="draft"><b>DRAFT narrative</b> by ${esc(d.author)} — not a decision (suggests ${esc(d.suggestion)}): ${esc(d.narrative)}</div>`
          : ''
      }</td><td class="ev">${c.evidenceIds.slice(0, 8).map(esc).join('<br>')}${c.evidenceIds.length > 8 ? `<br>… ${c.evidenceIds.length - 8} more` : ''}</td></tr>`;
    })
    .join('');
  const evidence = Object.entries(a.evidence)
    .map(([id, e]) => `<tr><td>${esc(id)}</td><td>${esc(e.source)}</td><td class="hash">${esc(e.sha256)}</td></tr>`)
    .join('');
  const drift = m.drift?.newlyFailing.length
    ? `<div class="alert"><b>Drift:</b> ${m.drift.newlyFailing.length} control(s) newly failing since ${esc(m.drift.previousWorkflowId)}: ${m.drift.newlyFailing
        .map((d) => `${esc(d.framework)} ${esc(d.controlId)} (${esc(d.was)} → ${esc(d.now)})`)
        .join(', ')}</div>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Compliance evidence report ${esc(a.workflowId)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;font-size:13px}
.badge{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}.muted{color:#666}.hash,.ev{font-family:monospace;font-size:11px;word-break:break-all}
.draft{background:#fff8e1;border-left:3px solid #f9a825;padding:4px;margin-top:4px}.alert{background:#ffebee;border:1px solid #c62828;padding:8px}</style></head><body>
<h1>Compliance evidence report</h1>
<p>Run <b>${esc(a.workflowId)}</b>, assessed ${esc(a.assessedAt)}, generated ${esc(m.generatedAt)}. Frameworks: ${a.frameworks.map((f) => `${esc(f.title)} (${f.controls} controls${f.missing ? `, ${f.missing} selected controls not in the catalog` : ''})`).join('; ')}.</p>
<p>Sources: ${a.sources.map((s) => `${esc(s.source)} (${s.items} items)`).join(', ') || 'none'}${a.unavailable.length ? `; <b>unavailable:</b> ${a.unavailable.map((u) => `${esc(u.source)}: ${esc(u.error)}`).join('; ')}` : ''}.</p>
${m.attestation ? `<p>Attestation ${m.attestation.state} by ${esc(m.attestation.by.join(', '))}${m.attestation.reason ? `: ${esc(m.attestation.reason)}` : ''}.</p>` : ''}
${drift}
<h2>Summary and trend</h2>${trendTable(m.trend)}
${a.frameworks.map((f) => `<h2>${esc(f.title)}: controls per family</h2>${familyChart(a, f.id)}`).join('')}
<p>${STATUS_ORDER.map((s) => `<span class="badge" style="background:${STATUS_COLOUR[s]}">${s}</span>`).join(' ')}</p>
<h2>Controls (failing first)</h2><table><tr><th>Status</th><th>Framework</th><th>Control</th><th>Why, remediation, drafts</th><th>Evidence</th></tr>${controlRows}</table>
<h2>Evidence (sha256 over canonical JSON, recorded in the audit ledger)</h2><p class="muted">Verify with <code>warden compliance verify-evidence ${esc(a.workflowId)}</code>.</p>
<table><tr><th>Evidence id</th><th>Source</th><th>sha256</th></tr>${evidence}</table></body></html>`;
}
