import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { RecordedNarrative } from '../narrator/narratives';
import type { Assessment } from '../scoring/assess-tool';

/*
 * OSCAL assessment-results (v1.1.1 JSON): one result per framework; one observation per check and source
 * (methods TEST, with every evidence item's sha256 as relevant evidence); one finding per control with its
 * status (satisfied only for pass), Warden's own status as a namespaced prop, and any drafted narrative in
 * remarks, marked as a draft. Validated with ajv against the schema shipped in schema/.
 */

/** The OSCAL version of the shipped schema and of the documents Warden writes. */
export const OSCAL_VERSION = '1.1.1';
/** Namespace of Warden's own props. */
export const WARDEN_NS = 'https://warden.dev/ns/oscal';
/** The shipped schema (NIST, public domain; see schema/README.md). */
export const OSCAL_AR_SCHEMA = path.join(__dirname, '..', 'schema', 'oscal_assessment-results_schema.json');

/** A name-based UUID (sha256 of the name, version 5 layout) so the same subject keeps its UUID across runs. */
export function stableUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const clean = (s: string) => s.replace(/\s+/g, ' ').trim() || '-';
const prop = (name: string, value: string) => ({ name, ns: WARDEN_NS, value: clean(value) });

/** Inputs of {@link buildAssessmentResults} besides the assessment. */
export interface OscalContext {
  narratives: RecordedNarrative[];
  attestation?: { state: 'granted' | 'rejected'; by: string[]; reason?: string };
  playbook: string;
  started: string;
  ended: string;
}

/** Builds the OSCAL assessment-results document of an assessment. */
export function buildAssessmentResults(a: Assessment, ctx: OscalContext): Record<string, unknown> {
  const apUuid = stableUuid(`${a.workflowId}|assessment-plan`);
  const drafts = new Map(ctx.narratives.map((n) => [`${n.framework}\u0000${n.controlId}`, n]));
  const results = a.frameworks.map((fw) => {
    const controls = a.controls.filter((c) => c.framework === fw.id);
    const obsUuid = new Map<string, string>();
    const observations = a.checks
      .filter((k) => controls.some((c) => c.checks.some((m) => m.checkId === k.checkId)))
      .map((k) => {
        const uuid = stableUuid(`${a.workflowId}|${fw.id}|obs|${k.checkId}|${k.source}`);
        obsUuid.set(`${k.checkId}\u0000${k.source}`, uuid);
        return {
          uuid,
          title: `${k.checkId} (${k.source})`,
          description: clean(k.summary),
          props: [prop('check-id', k.checkId), prop('check-status', k.status), prop('source', k.source)],
          methods: ['TEST'],
          types: ['finding'],
          collected: a.sources.find((s) => s.source === k.source)?.collectedAt ?? a.assessedAt,
          ...(k.evidenceIds.length
            ? {
                'relevant-evidence': k.evidenceIds.map((id) => ({
                  href: `#${stableUuid(`${a.workflowId}|evidence|${id}`)}`,
                  description: clean(`${id}: ${a.evidence[id]?.subject ?? ''}`),
                  props: [prop('evidence-id', id), prop('sha256', a.evidence[id]?.sha256 ?? 'unknown')],
                })),
              }
            : {}),
        };
      });
    const findings = controls.map((c) => {
      const draft = drafts.get(`${c.framework}\u0000${c.controlId}`);
      const related = [...obsUuid]
        .filter(([k]) => c.checks.some((m) => k.startsWith(`${m.checkId}\u0000`)))
        .map(([, uuid]) => ({ 'observation-uuid': uuid }));
      return {
        uuid: stableUuid(`${a.workflowId}|${fw.id}|finding|${c.controlId}`),
        title: clean(`${c.label} ${c.title}`),
        description: clean(c.reason),
        props: [
          prop('compliance-status', c.status),
          prop('decided-by', c.decidedBy),
          ...(c.attestedBy?.length ? [prop('attested-by', c.attestedBy.join(', '))] : []),
          ...(draft ? [prop('narrative-origin', 'drafted'), prop('narrative-author', draft.author)] : []),
        ],
        target: {
          type: 'objective-id',
          'target-id': c.controlId,
          status: {
            state: c.status === 'pass' ? 'satisfied' : 'not-satisfied',
            reason: c.status === 'pass' ? 'pass' : c.status === 'fail' ? 'fail' : 'other',
          },
        },
        ...(related.length ? { 'related-observations': related } : {}),
        ...(draft
          ? {
              remarks: `DRAFT by ${draft.author} (not a decision; suggestion: ${draft.suggestion}): ${draft.narrative}`,
            }
          : {}),
      };
    });
    return {
      uuid: stableUuid(`${a.workflowId}|${fw.id}|result`),
      title: clean(`${fw.title}: continuous compliance evidence`),
      description: clean(
        `Automated evidence collection by Warden run ${a.workflowId} over ${a.sources.map((s) => s.source).join(', ') || 'no source'}` +
          (a.unavailable.length ? `; unavailable: ${a.unavailable.map((u) => u.source).join(', ')}` : ''),
      ),
      start: ctx.started,
      end: ctx.ended,
      props: [prop('framework', fw.id), prop('controls', String(fw.controls))],
      'reviewed-controls': {
        'control-selections': [{ 'include-controls': controls.map((c) => ({ 'control-id': c.controlId })) }],
      },
      ...(ctx.attestation
        ? {
            attestations: [
              {
                parts: [
                  {
                    name: 'attestation',
                    title: ctx.attestation.state === 'granted' ? 'Controls attested' : 'Attestation declined',
                    prose: clean(
                      `${ctx.attestation.state === 'granted' ? 'Attested' : 'Declined'} by ${ctx.attestation.by.join(', ')}` +
                        (ctx.attestation.reason ? `: ${ctx.attestation.reason}` : ''),
                    ),
                  },
                ],
              },
            ],
          }
        : {}),
      ...(observations.length ? { observations } : {}),
      ...(findings.length ? { findings } : {}),
    };
  });
  return {
    'assessment-results': {
      uuid: stableUuid(`${a.workflowId}|assessment-results`),
      metadata: {
        title: clean(`Warden compliance evidence: ${a.frameworks.map((f) => f.title).join(' / ')}`),
        'last-modified': ctx.ended,
        version: a.workflowId,
        'oscal-version': OSCAL_VERSION,
      },
      'import-ap': { href: `#${apUuid}` },
      results,
      'back-matter': {
        resources: [
          {
            uuid: apUuid,
            title: `Warden playbook ${ctx.playbook}`,
            description: 'The playbook that collected and scored this evidence stands in for the assessment plan.',
          },
        ],
      },
    },
  };
}

let compiled: ValidateFunction | undefined;

/** Validates a document against the shipped OSCAL assessment-results schema (ajv, with formats). */
export function validateAssessmentResults(doc: unknown): { valid: boolean; errors: string[] } {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: true });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(fs.readFileSync(OSCAL_AR_SCHEMA, 'utf8')) as object);
  }
  const valid = compiled(doc);
  return {
    valid: Boolean(valid),
    errors: (compiled.errors ?? []).slice(0, 20).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''}`),
  };
}
