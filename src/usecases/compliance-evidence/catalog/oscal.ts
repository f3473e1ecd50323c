import { z } from 'zod';

/*
 * OSCAL catalogs and profiles (JSON, OSCAL 1.x), and profile resolution for the subset the published
 * SP 800-53 baselines use: imports by href (a back-matter resource `#uuid` or a relative path) with
 * include-all or include-controls/with-ids (with-child-controls), exclude-controls/with-ids, nested
 * profiles. `merge` is taken as-is (we flatten anyway); `modify` (parameter settings, alters) does not
 * change which controls are in the baseline and is not applied.
 */

const Prop = z.object({ name: z.string(), value: z.string(), class: z.string().optional() }).loose();
interface OscalControl {
  id: string;
  title: string;
  class?: string;
  props?: z.infer<typeof Prop>[];
  controls?: OscalControl[];
}
const Control: z.ZodType<OscalControl> = z.lazy(() =>
  z
    .object({
      id: z.string().min(1),
      title: z.string(),
      class: z.string().optional(),
      props: z.array(Prop).optional(),
      controls: z.array(Control).optional(),
    })
    .loose(),
);
interface OscalGroup {
  id?: string;
  title: string;
  controls?: OscalControl[];
  groups?: OscalGroup[];
}
const Group: z.ZodType<OscalGroup> = z.lazy(() =>
  z
    .object({
      id: z.string().optional(),
      title: z.string(),
      controls: z.array(Control).optional(),
      groups: z.array(Group).optional(),
    })
    .loose(),
);
const Metadata = z.object({ title: z.string(), version: z.string().optional() }).loose();
const Resource = z
  .object({
    uuid: z.string(),
    rlinks: z.array(z.object({ href: z.string(), 'media-type': z.string().optional() }).loose()).optional(),
  })
  .loose();

/** An OSCAL catalog document (`{ "catalog": … }`), the parts Warden reads. */
export const CatalogDocument = z.object({
  catalog: z
    .object({
      uuid: z.string(),
      metadata: Metadata,
      groups: z.array(Group).optional(),
      controls: z.array(Control).optional(),
    })
    .loose(),
});
/** An OSCAL catalog document. */
export type CatalogDocument = z.infer<typeof CatalogDocument>;

const Selection = z
  .object({
    'with-ids': z.array(z.string()).optional(),
    'with-child-controls': z.enum(['yes', 'no']).optional(),
    matching: z.array(z.unknown()).optional(),
  })
  .loose();

/** An OSCAL profile document (`{ "profile": … }`), the parts profile resolution needs. */
export const ProfileDocument = z.object({
  profile: z
    .object({
      uuid: z.string(),
      metadata: Metadata,
      imports: z
        .array(
          z
            .object({
              href: z.string().min(1),
              'include-all': z.object({}).loose().optional(),
              'include-controls': z.array(Selection).optional(),
              'exclude-controls': z.array(Selection).optional(),
            })
            .loose(),
        )
        .min(1),
      'back-matter': z
        .object({ resources: z.array(Resource).optional() })
        .loose()
        .optional(),
    })
    .loose(),
});
/** An OSCAL profile document. */
export type ProfileDocument = z.infer<typeof ProfileDocument>;

/** One control of a resolved baseline, flattened. */
export interface BaselineControl {
  /** OSCAL control id, e.g. `ac-2.1`. */
  id: string;
  /** Human label, e.g. `AC-2(1)`. */
  label: string;
  title: string;
  /** Family (top-level group) id and title, e.g. `ac` / `Access Control`. */
  family: string;
  familyTitle: string;
  /** For an enhancement, the control it enhances. */
  parent?: string;
}

/** The controls a catalog or resolved profile selects, in catalog order. */
export interface ResolvedBaseline {
  title: string;
  version?: string;
  controls: BaselineControl[];
  /** Ids the profile selects that the imported catalog does not have (a partial catalog). */
  missing: string[];
}

function labelOf(c: OscalControl): string {
  const labels = (c.props ?? []).filter((p) => p.name === 'label');
  return (labels.find((p) => !p.class) ?? labels[0])?.value ?? c.id.toUpperCase();
}

/** Every control of a catalog (enhancements included), flattened in document order. */
export function catalogControls(doc: CatalogDocument): BaselineControl[] {
  const out: BaselineControl[] = [];
  const walk = (controls: OscalControl[] | undefined, family: string, familyTitle: string, parent?: string) => {
    for (const c of controls ?? []) {
      out.push({ id: c.id, label: labelOf(c), title: c.title, family, familyTitle, ...(parent ? { parent } : {}) });
      walk(c.controls, family, familyTitle, c.id);
    }
  };
  const walkGroups = (groups: OscalGroup[] | undefined, top?: { id: string; title: string }) => {
    for (const g of groups ?? []) {
      const fam = top ?? { id: g.id ?? g.title.toLowerCase(), title: g.title };
      walk(g.controls, fam.id, fam.title);
      walkGroups(g.groups, fam);
    }
  };
  walkGroups(doc.catalog.groups);
  walk(doc.catalog.controls, 'other', 'Other');
  return out;
}

/** Loads what an import's href names: a catalog or another profile (already parsed JSON). */
export type ImportLoader = (href: string, from: ProfileDocument) => unknown;

/** The href a profile import points at, with `#uuid` resolved through the profile's back-matter. */
export function importTarget(href: string, profile: ProfileDocument): string {
  if (!href.startsWith('#')) return href;
  const res = profile.profile['back-matter']?.resources?.find((r) => r.uuid === href.slice(1));
  const links = res?.rlinks ?? [];
  const link = links.find((l) => /json/.test(l['media-type'] ?? '')) ?? links.find((l) => /\.json$/.test(l.href));
  if (!link)
    throw new Error(
      `profile import ${href} names no JSON resource in the profile's back-matter; point the import at an OSCAL JSON catalog`,
    );
  return link.href;
}

function selected(sel: z.infer<typeof Selection>[], all: BaselineControl[], missing: Set<string>): Set<string> {
  const ids = new Set<string>();
  const known = new Map(all.map((c) => [c.id, c]));
  for (const s of sel) {
    if (s.matching?.length)
      throw new Error('profile selection by `matching` patterns is not supported; list the controls with with-ids');
    for (const id of s['with-ids'] ?? []) {
      if (!known.has(id)) {
        missing.add(id);
        continue;
      }
      ids.add(id);
      if (s['with-child-controls'] === 'yes') {
        const add = (p: string) => all.filter((c) => c.parent === p).forEach((c) => (ids.add(c.id), add(c.id)));
        add(id);
      }
    }
  }
  return ids;
}

/**
 * Resolves a profile into the controls it selects (imports are loaded with `load`, which may return a
 * catalog or a nested profile). Selected ids the imported catalog lacks are listed in `missing`.
 * @throws Error saying which document or selection is not understood.
 */
export function resolveProfile(profile: ProfileDocument, load: ImportLoader, depth = 0): ResolvedBaseline {
  if (depth > 8) throw new Error('profile imports nest more than 8 levels deep (an import cycle?)');
  const picked = new Map<string, BaselineControl>();
  const missing = new Set<string>();
  for (const imp of profile.profile.imports) {
    const raw = load(imp.href, profile);
    const nested = ProfileDocument.safeParse(raw);
    let all: BaselineControl[];
    if (nested.success) {
      const inner = resolveProfile(nested.data, load, depth + 1);
      inner.missing.forEach((m) => missing.add(m));
      all = inner.controls;
    } else {
      const cat = CatalogDocument.safeParse(raw);
      if (!cat.success)
        throw new Error(`profile import ${imp.href} is neither an OSCAL catalog nor a profile (JSON with "catalog")`);
      all = catalogControls(cat.data);
    }
    const include =
      imp['include-controls'] === undefined
        ? new Set(all.map((c) => c.id))
        : selected(imp['include-controls'], all, missing);
    const exclude = selected(imp['exclude-controls'] ?? [], all, new Set());
    for (const c of all) if (include.has(c.id) && !exclude.has(c.id)) picked.set(c.id, c);
  }
  return {
    title: profile.profile.metadata.title,
    ...(profile.profile.metadata.version ? { version: profile.profile.metadata.version } : {}),
    controls: [...picked.values()],
    missing: [...missing],
  };
}

/** The whole catalog as a baseline (no profile). */
export function catalogBaseline(doc: CatalogDocument): ResolvedBaseline {
  return {
    title: doc.catalog.metadata.title,
    ...(doc.catalog.metadata.version ? { version: doc.catalog.metadata.version } : {}),
    controls: catalogControls(doc),
    missing: [],
  };
}
