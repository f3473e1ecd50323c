import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../errors';
import { formatIssues } from '../governance/issues';
import type { ScheduleDeclaration } from '../usecases/contract';
import type { PlaybookResolver } from './playbook-source';
import type { ScheduleDefinition } from './schedule-spec';
import { OVERLAP_POLICIES, parseScheduleDefinition } from './schedule-spec';
import type { ScheduleManager, UpsertOutcome } from './schedules';

/*
 * Declared schedules (a use case's `schedules`, or a schedules file) made real, idempotently: each is
 * created if missing (paused unless it says `enabledByDefault`), updated if what it does changed, and
 * left alone otherwise. An operator's pause or unpause is never undone by a sync.
 */

/**
 * A declaration as a schedules file holds it: the contract's {@link ScheduleDeclaration} plus the
 * optional overlap policy and catch-up window.
 */
export const ScheduleDeclarationSchema = z
  .object({
    id: z.string(),
    description: z.string().max(500),
    cron: z.array(z.string()).optional(),
    interval: z.string().optional(),
    playbook: z.string().min(1),
    input: z.record(z.string(), z.unknown()).default({}),
    enabledByDefault: z.boolean().optional(),
    overlap: z.enum(Object.keys(OVERLAP_POLICIES) as [keyof typeof OVERLAP_POLICIES]).optional(),
    catchupWindow: z.string().optional(),
  })
  .strict();
/** A declaration as a schedules file holds it. */
export type ScheduleDeclarationInput = z.input<typeof ScheduleDeclarationSchema>;

/** One line of a sync report. */
export interface SyncResult {
  id: string;
  outcome: UpsertOutcome;
}

/**
 * Turns declarations into definitions: resolves playbooks, validates every field.
 * @throws UserError listing every bad declaration; then nothing is synced.
 */
export function definitionsFromDeclarations(
  declarations: (ScheduleDeclaration | ScheduleDeclarationInput)[],
  resolvePlaybook: PlaybookResolver,
): ScheduleDefinition[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const defs: ScheduleDefinition[] = [];
  for (const [i, raw] of declarations.entries()) {
    const label = `schedule ${typeof raw?.id === 'string' ? `"${raw.id}"` : `#${i + 1}`}`;
    const parsed = ScheduleDeclarationSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(`${label}: ${formatIssues(parsed.error, '(declaration)')}`);
      continue;
    }
    const d = parsed.data;
    if (ids.has(d.id)) problems.push(`${label}: the id is declared twice`);
    ids.add(d.id);
    try {
      defs.push(
        parseScheduleDefinition({
          id: d.id,
          description: d.description,
          ...(d.cron ? { cron: d.cron } : {}),
          ...(d.interval ? { every: d.interval } : {}),
          ...(d.overlap ? { overlap: d.overlap } : {}),
          ...(d.catchupWindow ? { catchupWindow: d.catchupWindow } : {}),
          // A declared schedule must not act on a user's systems uninvited.
          paused: !d.enabledByDefault,
          ...(d.enabledByDefault ? {} : { note: 'created paused: unpause with `warden schedule unpause`' }),
          playbook: resolvePlaybook(d.playbook),
          playbookRef: d.playbook,
          input: d.input,
        }),
      );
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    }
  }
  if (problems.length)
    throw new UserError(`invalid schedule declarations — ${problems.join('; ')} — nothing was synced`);
  return defs;
}

/**
 * Creates or updates every declared schedule (see the module comment for the rules).
 * @throws UserError for invalid declarations (before any change) or a schedule Temporal refuses.
 */
export async function syncSchedules(
  manager: ScheduleManager,
  declarations: (ScheduleDeclaration | ScheduleDeclarationInput)[],
  resolvePlaybook: PlaybookResolver,
): Promise<SyncResult[]> {
  const defs = definitionsFromDeclarations(declarations, resolvePlaybook);
  const results: SyncResult[] = [];
  for (const def of defs) results.push({ id: def.id, outcome: await manager.upsert(def) });
  return results;
}

/**
 * Reads `schedules:` from a YAML or JSON file; playbook paths in it are relative to the file.
 * @throws UserError naming the file and the problem.
 */
export function readScheduleDeclarations(file: string): {
  declarations: ScheduleDeclarationInput[];
  baseDir: string;
} {
  let data: unknown;
  try {
    data = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`cannot read schedule declarations from ${file}: ${code ?? (err as Error).message}`);
  }
  const parsed = z
    .object({ schedules: z.array(z.unknown()) })
    .strict()
    .safeParse(data);
  if (!parsed.success)
    throw new UserError(`${file}: ${formatIssues(parsed.error, '(file)')} — expected "schedules: [...]"`);
  return {
    declarations: parsed.data.schedules as ScheduleDeclarationInput[],
    baseDir: path.dirname(path.resolve(file)),
  };
}
