import { z } from 'zod';

/*
 * Control → evidence-check mappings: our own mapping file (checks.yaml) and Prowler's compliance files
 * (prowler/compliance/<provider>/*.json). One check can serve many controls across frameworks.
 */

/** Framework ids Warden knows. */
export const FRAMEWORK_IDS = ['nist-800-53-rev5', 'soc2'] as const;
/** A framework id. */
export type FrameworkId = (typeof FRAMEWORK_IDS)[number];

/** What a check is, for the report: its title and how to fix a failure. */
export const CheckSpec = z.object({
  title: z.string().min(1),
  sources: z.array(z.string().min(1)).min(1),
  remediation: z.string().min(1),
});
/** What a check is. */
export type CheckSpec = z.infer<typeof CheckSpec>;

const checkId = z.string().regex(/^[a-z0-9_]+$/, 'check ids are snake_case');
const MappedControl = z
  .object({
    checks: z.array(checkId).default([]),
    /** A human must attest this control (an approval step with the evidence attached). */
    attest: z.boolean().default(false),
    /** Our own one-line summary (SOC 2: instead of the AICPA criterion text). */
    summary: z.string().optional(),
  })
  .strict();

/** Our mapping file. */
export const MappingFile = z
  .object({
    version: z.literal(1),
    checks: z.record(checkId, CheckSpec),
    frameworks: z
      .object({
        'nist-800-53-rev5': z.object({ controls: z.record(z.string(), MappedControl) }).strict(),
        soc2: z
          .object({
            title: z.string(),
            families: z.record(z.string(), z.string()).default({}),
            controls: z.record(z.string(), MappedControl),
          })
          .strict(),
      })
      .strict(),
  })
  .strict()
  .superRefine((m, ctx) => {
    for (const [fw, body] of Object.entries(m.frameworks))
      for (const [control, spec] of Object.entries(body.controls))
        for (const c of spec.checks)
          if (!m.checks[c])
            ctx.addIssue({
              code: 'custom',
              path: ['frameworks', fw, 'controls', control],
              message: `check "${c}" is not defined under checks`,
            });
  });
/** Our mapping file. */
export type MappingFile = z.infer<typeof MappingFile>;

/** A Prowler compliance file (prowler/compliance/<provider>/<framework>_<provider>.json). */
export const ProwlerCompliance = z
  .object({
    Framework: z.string().min(1),
    Name: z.string().optional(),
    Version: z.string().optional(),
    Provider: z.string().optional(),
    Requirements: z.array(
      z.object({ Id: z.string(), Name: z.string().optional(), Checks: z.array(z.string()).default([]) }).loose(),
    ),
  })
  .loose();
/** A Prowler compliance file. */
export type ProwlerCompliance = z.infer<typeof ProwlerCompliance>;

/** Which of our frameworks a Prowler compliance file describes, if any. */
export function prowlerFramework(file: ProwlerCompliance): FrameworkId | undefined {
  const f = file.Framework.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (f === 'soc2') return 'soc2';
  if (f.startsWith('nist80053') && /revision5|rev5/.test(f)) return 'nist-800-53-rev5';
  return undefined;
}

/**
 * The SP 800-53 control a Prowler requirement is about: `AC-2(1) Automated …` → `ac-2.1`,
 * `AC-3(3)(b)(1)` → `ac-3.3`, `Least Privilege (AC-6)` → `ac-6`; statement parts fold into their control.
 */
export function nistControlId(name: string): string | undefined {
  const m = /\b([A-Z]{2})-(\d+)(?:\((\d+)\))?/.exec(name);
  if (!m) return undefined;
  return `${m[1]!.toLowerCase()}-${m[2]}${m[3] ? `.${m[3]}` : ''}`;
}

/** The SOC 2 criterion a Prowler requirement names: `CC6.1 The entity …` → `CC6.1`, `A1.2 …` → `A1.2`. */
export function soc2CriterionId(name: string): string | undefined {
  return /^\s*((?:CC|PI|A|C|P)\d+\.\d+)\b/.exec(name)?.[1];
}

/** Control id → check ids from a Prowler file (duplicates removed), keyed by our control id. */
export function prowlerChecks(file: ProwlerCompliance): Map<string, string[]> {
  const fw = prowlerFramework(file);
  const out = new Map<string, Set<string>>();
  for (const r of file.Requirements) {
    const name = r.Name ?? r.Id;
    const id = fw === 'soc2' ? soc2CriterionId(name) : fw ? nistControlId(name) : undefined;
    if (!id) continue;
    const set = out.get(id) ?? new Set<string>();
    r.Checks.forEach((c) => set.add(c));
    out.set(id, set);
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]));
}
