import type { CompiledThresholdRule, EntityEvent, FireRecord, ThresholdStats } from './threshold-contract';

/*
 * The sliding window of one (rule, key): pure and deterministic, so the `thresholdEntity` workflow can run
 * it and carry its snapshot across continue-as-new. Time is event time (ms), never a wall clock: the same
 * events in the same order always give the same breaches, on any worker, after any replay.
 *
 * A breach is N events whose times span less than the window. It fires once: its events are consumed,
 * and events of the key up to (breach end + cooldown) are suppressed, so no event counts in two breaches
 * and a sustained storm fires at most once per cooldown.
 */

/** Event ids remembered for deduplication, at most (oldest forgotten first): bounds the carried state. */
export const MAX_REMEMBERED_IDS = 5000;
/** Breaches kept in the entity's state (oldest dropped first). */
export const MAX_FIRE_RECORDS = 20;

/** An event in the window; only the newest `attach` keep their body (bounds the carried state). */
export interface WindowEntry {
  id: string;
  time: number;
  receivedAt: number;
  event?: Record<string, unknown>;
}

/** What the entity carries across continue-as-new. */
export interface ThresholdWindowSnapshot {
  pending: WindowEntry[];
  /** [event id, when it was remembered (workflow time)], oldest first. */
  seen: [string, number][];
  watermark: number;
  cooldownUntil: number;
  lastArrival: number;
  fires: FireRecord[];
  stats: ThresholdStats;
}

/** A breach to act on: its span and its events (the attached ones with their bodies, newest first). */
export interface Breach {
  start: number;
  end: number;
  count: number;
  attached: { id: string; time: string; event: Record<string, unknown> }[];
}

/** The rule parameters the window needs. */
export type WindowRule = Pick<
  CompiledThresholdRule,
  'threshold' | 'windowMs' | 'cooldownMs' | 'dedupeForMs' | 'attach'
>;

const emptyStats = (): ThresholdStats => ({
  received: 0,
  counted: 0,
  duplicates: 0,
  suppressed: 0,
  late: 0,
  refused: 0,
  fired: 0,
});

/** The sliding-window counter of one (rule, key). */
export class ThresholdWindow {
  private pending: WindowEntry[];
  private readonly seen: Map<string, number>;
  private watermark: number;
  private cooldownUntil: number;
  private lastArrival: number;
  private readonly fires: FireRecord[];
  readonly stats: ThresholdStats;

  /** @param snapshot a previous run's {@link snapshot} (continue-as-new), or undefined for a fresh key. */
  constructor(
    private readonly rule: WindowRule,
    snapshot?: ThresholdWindowSnapshot,
  ) {
    this.pending = snapshot?.pending ?? [];
    this.seen = new Map(snapshot?.seen ?? []);
    this.watermark = snapshot?.watermark ?? 0;
    this.cooldownUntil = snapshot?.cooldownUntil ?? 0;
    this.lastArrival = snapshot?.lastArrival ?? 0;
    this.fires = snapshot?.fires ?? [];
    this.stats = { ...emptyStats(), ...snapshot?.stats };
  }

  /**
   * Counts one event at workflow time `now`. Returns the breach it completes, if any; the caller fires
   * it and reports back with {@link recordFire}. Duplicates, late and suppressed events are only counted.
   */
  add(e: EntityEvent, now: number): Breach | undefined {
    this.stats.received++;
    this.forget(now);
    if (this.seen.has(e.id)) {
      this.stats.duplicates++;
      return undefined;
    }
    this.remember(e.id, now);
    this.lastArrival = Math.max(this.lastArrival, now);
    // An event never happens after Warden received it (the ingest clamps too; a hand-sent signal may not).
    const time = Math.min(e.time, e.receivedAt);
    this.watermark = Math.max(this.watermark, time);
    if (time < this.cooldownUntil) {
      this.stats.suppressed++;
      return undefined;
    }
    if (time <= this.watermark - this.rule.windowMs) {
      this.stats.late++;
      return undefined;
    }
    this.insert({ id: e.id, time, receivedAt: e.receivedAt, event: e.event });
    this.stats.counted++;
    this.pending = this.pending.filter((p) => p.time > this.watermark - this.rule.windowMs);
    const breach = this.detect();
    this.trimBodies();
    return breach;
  }

  /** Records what became of a breach (bounded list, kept across continue-as-new). */
  recordFire(f: FireRecord): void {
    if (f.status === 'started') this.stats.fired++;
    this.fires.push(f);
    if (this.fires.length > MAX_FIRE_RECORDS) this.fires.splice(0, this.fires.length - MAX_FIRE_RECORDS);
  }

  /** Counts a signal whose payload was malformed. */
  noteRefused(): void {
    this.stats.refused++;
  }

  /**
   * Workflow time after which the entity holds nothing worth keeping (no window, no cooldown, no id to
   * deduplicate) and may end; a later event starts a fresh entity.
   */
  idleAt(): number {
    return this.lastArrival + Math.max(this.rule.dedupeForMs, this.rule.windowMs + this.rule.cooldownMs);
  }

  /** State to carry across continue-as-new. */
  snapshot(): ThresholdWindowSnapshot {
    return {
      pending: this.pending,
      seen: [...this.seen.entries()],
      watermark: this.watermark,
      cooldownUntil: this.cooldownUntil,
      lastArrival: this.lastArrival,
      fires: this.fires,
      stats: { ...this.stats },
    };
  }

  /** Events waiting in the window. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** End of the current cooldown (event time, ms), or 0 when none was ever set. */
  get cooldownEnd(): number {
    return this.cooldownUntil;
  }

  /** The recorded breaches, oldest first. */
  get fireRecords(): readonly FireRecord[] {
    return this.fires;
  }

  private insert(entry: WindowEntry): void {
    // Sorted by time, then id: ties resolve the same way on every replay.
    let i = this.pending.length;
    while (i > 0) {
      const prev = this.pending[i - 1]!;
      if (prev.time < entry.time || (prev.time === entry.time && prev.id < entry.id)) break;
      i--;
    }
    this.pending.splice(i, 0, entry);
  }

  /** The earliest run of N pending events spanning less than the window, consumed with what it covers. */
  private detect(): Breach | undefined {
    const n = this.rule.threshold;
    for (let i = 0; i + n - 1 < this.pending.length; i++) {
      const first = this.pending[i]!;
      const last = this.pending[i + n - 1]!;
      if (last.time - first.time >= this.rule.windowMs) continue;
      const entries = this.pending.slice(i, i + n);
      this.cooldownUntil = Math.max(this.cooldownUntil, last.time + this.rule.cooldownMs);
      const before = this.pending.length;
      this.pending = this.pending.filter(
        (p) => !entries.includes(p) && p.time > last.time && p.time >= this.cooldownUntil,
      );
      this.stats.suppressed += before - n - this.pending.length;
      const attached = entries
        .filter((p) => p.event !== undefined)
        .reverse()
        .slice(0, this.rule.attach)
        .map((p) => ({ id: p.id, time: new Date(p.time).toISOString(), event: p.event! }));
      return { start: first.time, end: last.time, count: n, attached };
    }
    return undefined;
  }

  private trimBodies(): void {
    const keepFrom = this.pending.length - this.rule.attach;
    this.pending.forEach((p, i) => {
      if (i < keepFrom && p.event !== undefined) delete p.event;
    });
  }

  private remember(id: string, now: number): void {
    this.seen.set(id, now);
    if (this.seen.size > MAX_REMEMBERED_IDS) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  private forget(now: number): void {
    for (const [id, at] of this.seen) {
      if (at >= now - this.rule.dedupeForMs) break;
      this.seen.delete(id);
    }
  }
}
