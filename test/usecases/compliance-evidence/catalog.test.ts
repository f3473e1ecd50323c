import fs from 'node:fs';
import path from 'node:path';
import { loadControlCatalog, loadNistBaseline } from '../../../src/usecases/compliance-evidence/catalog/frameworks';
import {
  ProwlerCompliance,
  nistControlId,
  prowlerChecks,
  soc2CriterionId,
} from '../../../src/usecases/compliance-evidence/catalog/mappings';
import { ProfileDocument, resolveProfile } from '../../../src/usecases/compliance-evidence/catalog/oscal';
import { SAMPLE_DIR } from '../../../src/usecases/compliance-evidence/settings';
import { describeWithSharedData, readJson } from '../../harness/shared-data';

describe('sample catalog', () => {
  it('resolves the bundled profile through its back-matter import to the selected controls', () => {
    const b = loadNistBaseline(
      path.join(SAMPLE_DIR, 'sample-800-53-catalog.json'),
      path.join(SAMPLE_DIR, 'sample-800-53-profile.json'),
    );
    expect(b.controls.map((c) => c.id)).toContain('ia-2.1');
    expect(b.controls.map((c) => c.id)).not.toContain('au-10'); // in the catalog, not selected
    expect(b.controls.find((c) => c.id === 'ia-2.1')).toMatchObject({ label: 'IA-2(1)', family: 'ia', parent: 'ia-2' });
  });

  it('selects child controls with with-child-controls and drops excluded ones', () => {
    const catalog = readJson(path.join(SAMPLE_DIR, 'sample-800-53-catalog.json'));
    const profile = ProfileDocument.parse({
      profile: {
        uuid: 'u',
        metadata: { title: 't' },
        imports: [
          {
            href: 'x.json',
            'include-controls': [{ 'with-ids': ['ia-2'], 'with-child-controls': 'yes' }],
            'exclude-controls': [{ 'with-ids': ['ia-2.2'] }],
          },
        ],
      },
    });
    expect(resolveProfile(profile, () => catalog).controls.map((c) => c.id)).toEqual(['ia-2', 'ia-2.1']);
  });

  it('refuses a profile import that is not an OSCAL document', () => {
    const profile = ProfileDocument.parse({
      profile: { uuid: 'u', metadata: { title: 't' }, imports: [{ href: 'x.json' }] },
    });
    expect(() => resolveProfile(profile, () => ({ hello: 1 }))).toThrow(/neither an OSCAL catalog nor a profile/);
  });

  it('names the bad mapping entry', () => {
    const file = path.join(fs.mkdtempSync('/tmp/map-'), 'checks.yaml');
    fs.writeFileSync(
      file,
      'version: 1\nchecks: {}\nframeworks:\n  nist-800-53-rev5: { controls: { ac-2: { checks: [nope] } } }\n  soc2: { title: s, controls: {} }\n',
    );
    expect(() =>
      loadControlCatalog({
        nistCatalog: path.join(SAMPLE_DIR, 'sample-800-53-catalog.json'),
        nistProfile: undefined,
        prowlerMappings: [],
        mappingFile: file,
        frameworks: ['soc2'],
      }),
    ).toThrow(/check "nope" is not defined/);
  });
});

describe('Prowler requirement names', () => {
  it('maps SP 800-53 requirement names to control ids and SOC 2 names to criteria', () => {
    expect(nistControlId('AC-2(1) Automated System Account Management')).toBe('ac-2.1');
    expect(nistControlId('AC-3(3)(b)(1)')).toBe('ac-3.3');
    expect(nistControlId('AC-2(d)(1)')).toBe('ac-2');
    expect(nistControlId('Least Privilege (AC-6)')).toBe('ac-6');
    expect(soc2CriterionId('CC6.1 The entity implements')).toBe('CC6.1');
    expect(soc2CriterionId('A1.2 The entity authorizes')).toBe('A1.2');
  });
});

describeWithSharedData('real SP 800-53 and SOC 2 catalogs', 'controls', (dir) => {
  it('resolves the MODERATE profile against the LOW catalog to the moderate controls that catalog has', () => {
    const b = loadNistBaseline(
      path.join(dir, 'NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json'),
      path.join(dir, 'NIST_SP-800-53_rev5_MODERATE-baseline_profile.json'),
    );
    const flat = readJson<{ controls: { id: string; title: string; label: string }[] }>(
      path.join(dir, 'nist_800_53_rev5_moderate_flat.json'),
    ).controls;
    const byId = new Map(flat.map((c) => [c.id, c]));
    expect(b.controls.length + b.missing.length).toBe(flat.length);
    // Every resolved control is a moderate control with the same title and label.
    for (const c of b.controls)
      expect({ id: c.id, title: c.title, label: c.label }).toEqual({
        id: c.id,
        title: byId.get(c.id)?.title,
        label: byId.get(c.id)?.label,
      });
    expect(b.controls.find((c) => c.id === 'ac-2')).toMatchObject({ family: 'ac', familyTitle: 'Access Control' });
  });

  it('reads Prowler SP 800-53 and SOC 2 mappings into control → checks', () => {
    const nist = prowlerChecks(
      ProwlerCompliance.parse(readJson(path.join(dir, 'prowler_nist_800_53_revision_5_aws.json'))),
    );
    expect(nist.get('ac-2.1')).toEqual(expect.arrayContaining(['iam_root_mfa_enabled', 'iam_user_accesskey_unused']));
    expect(new Set(nist.get('ac-2.1')).size).toBe(nist.get('ac-2.1')!.length);
    const soc2 = prowlerChecks(ProwlerCompliance.parse(readJson(path.join(dir, 'prowler_soc2_aws.json'))));
    expect([...soc2.keys()]).toEqual(expect.arrayContaining(['CC6.1', 'CC8.1', 'A1.2', 'PI1.5']));
  });

  it('one check serves controls across both frameworks', () => {
    const cat = loadControlCatalog({
      nistCatalog: path.join(dir, 'NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json'),
      nistProfile: path.join(dir, 'NIST_SP-800-53_rev5_MODERATE-baseline_profile.json'),
      prowlerMappings: ['prowler_nist_800_53_revision_5_aws.json', 'prowler_soc2_aws.json'].map((f) =>
        path.join(dir, f),
      ),
      mappingFile: path.join(SAMPLE_DIR, 'checks.yaml'),
      frameworks: ['nist-800-53-rev5', 'soc2'],
    });
    const serving = cat.frameworks.flatMap((f) =>
      f.controls.filter((c) => c.checks.includes('iam_user_accesskey_unused')).map(() => f.id),
    );
    expect(new Set(serving)).toEqual(new Set(['nist-800-53-rev5', 'soc2']));
    const soc2 = cat.frameworks.find((f) => f.id === 'soc2')!;
    // Our own summaries, never the AICPA text.
    expect(soc2.controls.find((c) => c.id === 'CC6.1')?.title).toBe(
      'Logical access is restricted and authenticated (MFA).',
    );
  });
});
