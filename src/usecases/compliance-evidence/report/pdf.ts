import PDFDocument from 'pdfkit';
import { familyTotals } from '../scoring/score';
import type { ReportModel } from './html';
import { STATUS_COLOUR, STATUS_ORDER, orderedControls } from './html';

/*
 * The report as PDF (pdfkit, standard fonts): summary and trend, a per-family bar chart per framework,
 * controls failing first with remediation and drafts (marked), and every evidence item's sha256.
 */

/** Upper bound on evidence lines printed; the OSCAL JSON and the ledger hold every one regardless. */
const MAX_EVIDENCE_LINES = 3000;

/** Renders the report as a PDF document. */
export function renderPdf(m: ReportModel): Promise<Buffer> {
  const a = m.assessment;
  const doc = new PDFDocument({
    size: 'A4',
    margin: 40,
    info: { Title: `Compliance evidence report ${a.workflowId}`, Author: 'Warden' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 80;

  doc.font('Helvetica-Bold').fontSize(20).fillColor('#222').text('Compliance evidence report');
  doc.moveDown(0.3).font('Helvetica').fontSize(10);
  doc.text(`Run ${a.workflowId} — assessed ${a.assessedAt}, generated ${m.generatedAt}`);
  doc.text(`Sources: ${a.sources.map((s) => `${s.source} (${s.items} items)`).join(', ') || 'none'}`);
  if (a.unavailable.length)
    doc
      .fillColor('#c62828')
      .text(`Unavailable: ${a.unavailable.map((u) => `${u.source}: ${u.error}`).join('; ')}`)
      .fillColor('#222');
  if (m.attestation)
    doc.text(
      `Attestation ${m.attestation.state} by ${m.attestation.by.join(', ')}${m.attestation.reason ? `: ${m.attestation.reason}` : ''}`,
    );
  if (m.drift?.newlyFailing.length)
    doc
      .fillColor('#c62828')
      .text(
        `Drift: ${m.drift.newlyFailing.length} control(s) newly failing since ${m.drift.previousWorkflowId}: ${m.drift.newlyFailing.map((d) => `${d.controlId} (${d.was} -> ${d.now})`).join(', ')}`,
      )
      .fillColor('#222');

  doc.moveDown().font('Helvetica-Bold').fontSize(14).text('Summary and trend');
  doc.font('Helvetica').fontSize(10);
  for (const [fw, counts] of Object.entries(m.trend.now)) {
    const prev = m.trend.previous?.[fw];
    doc.text(
      `${fw}: ${STATUS_ORDER.map((s) => `${s} ${counts[s]}${prev ? ` (${counts[s] - prev[s] >= 0 ? '+' : ''}${counts[s] - prev[s]})` : ''}`).join(', ')}`,
    );
  }
  doc
    .fillColor('#666')
    .text(m.trend.previousWorkflowId ? `Against previous run ${m.trend.previousWorkflowId}` : 'First run: no trend yet')
    .fillColor('#222');

  for (const fw of a.frameworks) {
    const fams = familyTotals(a.controls, fw.id);
    doc.moveDown().font('Helvetica-Bold').fontSize(12).text(`${fw.title}: controls per family`);
    const max = Math.max(1, ...fams.map((f) => STATUS_ORDER.reduce((n, s) => n + f[s], 0)));
    const labelW = 170;
    for (const f of fams) {
      if (doc.y > doc.page.height - 60) doc.addPage();
      const y = doc.y;
      doc
        .font('Helvetica')
        .fontSize(8)
        .fillColor('#222')
        .text(`${f.family.toUpperCase()} ${f.title}`.slice(0, 38), 40, y, { width: labelW });
      let x = 40 + labelW;
      for (const s of STATUS_ORDER) {
        const w = (f[s] / max) * (width - labelW);
        if (w > 0) doc.rect(x, y, w, 9).fill(STATUS_COLOUR[s]);
        x += w;
      }
      doc.fillColor('#222');
      doc.y = y + 12;
      doc.x = 40;
    }
  }
  doc.moveDown(0.5).fontSize(8);
  doc.text('Legend: ', { continued: true });
  STATUS_ORDER.forEach((s) => doc.fillColor(STATUS_COLOUR[s]).text(`${s}   `, { continued: s !== 'pass' }));
  doc.fillColor('#222');

  doc.addPage().font('Helvetica-Bold').fontSize(14).text('Controls (failing first)');
  const drafts = new Map(m.narratives.map((n) => [`${n.framework}\u0000${n.controlId}`, n]));
  for (const c of orderedControls(a.controls)) {
    doc
      .moveDown(0.4)
      .font('Helvetica-Bold')
      .fontSize(10)
      .fillColor(STATUS_COLOUR[c.status])
      .text(`[${c.status}] `, { continued: true });
    doc.fillColor('#222').text(`${c.framework} ${c.label} ${c.title}`);
    doc
      .font('Helvetica')
      .fontSize(9)
      .text(c.reason + (c.attestedBy?.length ? ` (attested by ${c.attestedBy.join(', ')})` : ''));
    for (const r of c.remediation) doc.text(`Remediation: ${r}`, { indent: 10 });
    const d = drafts.get(`${c.framework}\u0000${c.controlId}`);
    if (d)
      doc
        .fillColor('#8d6e00')
        .text(`DRAFT by ${d.author}, not a decision (suggests ${d.suggestion}): ${d.narrative}`, { indent: 10 })
        .fillColor('#222');
    if (c.evidenceIds.length)
      doc
        .fillColor('#555')
        .fontSize(8)
        .text(
          `Evidence: ${c.evidenceIds.slice(0, 6).join(', ')}${c.evidenceIds.length > 6 ? ` … (${c.evidenceIds.length})` : ''}`,
          { indent: 10 },
        )
        .fillColor('#222');
  }

  doc.addPage().font('Helvetica-Bold').fontSize(14).text('Evidence hashes (sha256 over canonical JSON)');
  doc
    .font('Helvetica')
    .fontSize(9)
    .text(`Recorded in the audit ledger at collection. Verify: warden compliance verify-evidence ${a.workflowId}`);
  doc.moveDown(0.5).font('Courier').fontSize(7);
  const entries = Object.entries(a.evidence);
  for (const [id, e] of entries.slice(0, MAX_EVIDENCE_LINES)) doc.text(`${e.sha256}  ${id}`);
  if (entries.length > MAX_EVIDENCE_LINES)
    doc.text(`… ${entries.length - MAX_EVIDENCE_LINES} more in the OSCAL results`);
  doc.end();
  return done;
}
