import type { EntityEvent } from '../../src/triggers/threshold-contract';
import { MAX_REMEMBERED_IDS, ThresholdWindow } from '../../src/triggers/threshold-window';
import type { WindowRule } from '../../src/triggers/threshold-window';

const MIN = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const rule: WindowRule = {
  threshold: 3,
  windowMs: 10 * MIN,
  cooldownMs: 30 * MIN,
  dedupeForMs: 24 * 60 * MIN,
  attach: 2,
};

const ev = (id: string, atMin: number, extra: Record<string, unknown> = {}): EntityEvent => ({
  id,
  time: T0 + atMin * MIN,
  receivedAt: T0 + atMin * MIN,
  event: { id, ...extra },
});

/** Feeds events in order at their own time; returns the breaches. */
function feed(w: ThresholdWindow, events: EntityEvent[]) {
  return events.map((e) => w.add(e, e.receivedAt)).filter((b) => b !== undefined);
}

describe('threshold sliding window', () => {
  it('fires when N events fall within the window, with the newest events attached', () => {
    const w = new ThresholdWindow(rule);
    const breaches = feed(w, [ev('a', 0, { user: 'u' }), ev('b', 4), ev('c', 9)]);
    expect(breaches).toHaveLength(1);
    expect(breaches[0]).toMatchObject({ start: T0, end: T0 + 9 * MIN, count: 3 });
    expect(breaches[0]!.attached.map((a) => a.id)).toEqual(['c', 'b']);
    expect(breaches[0]!.attached[0]!.event).toEqual({ id: 'c' });
  });

  it('does not fire for N events spread wider than the window', () => {
    const w = new ThresholdWindow(rule);
    expect(feed(w, [ev('a', 0), ev('b', 6), ev('c', 11), ev('d', 22), ev('e', 33)])).toHaveLength(0);
    expect(w.stats).toMatchObject({ counted: 5, fired: 0 });
  });

  it('counts a duplicate event id once', () => {
    const w = new ThresholdWindow(rule);
    expect(feed(w, [ev('a', 0), ev('a', 1), ev('a', 2), ev('b', 3)])).toHaveLength(0);
    expect(w.stats).toMatchObject({ received: 4, counted: 2, duplicates: 2 });
  });

  it('suppresses events during the cooldown and fires again on a new breach after it', () => {
    const w = new ThresholdWindow(rule);
    const first = feed(w, [ev('a', 0), ev('b', 1), ev('c', 2)]);
    // Still inside the 30 min cooldown after the breach's last event (minute 2).
    const during = feed(w, [ev('d', 3), ev('e', 4), ev('f', 5), ev('g', 31)]);
    const after = feed(w, [ev('h', 33), ev('i', 34), ev('j', 35)]);
    expect(first).toHaveLength(1);
    expect(during).toHaveLength(0);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ start: T0 + 33 * MIN, end: T0 + 35 * MIN, count: 3 });
    expect(w.stats).toMatchObject({ suppressed: 4, counted: 6 });
  });

  it('never counts an event in two breaches (cooldown 0: each N events fire once)', () => {
    const w = new ThresholdWindow({ ...rule, cooldownMs: 0 });
    const breaches = feed(
      w,
      Array.from({ length: 9 }, (_, i) => ev(`e${i}`, i)),
    );
    expect(breaches.map((b) => b.start)).toEqual([T0, T0 + 3 * MIN, T0 + 6 * MIN]);
  });

  it('ignores events more than a window older than the newest one', () => {
    const w = new ThresholdWindow(rule);
    feed(w, [ev('new', 60)]);
    const late = { ...ev('old', 40), receivedAt: T0 + 61 * MIN };
    expect(w.add(late, late.receivedAt)).toBeUndefined();
    expect(w.stats.late).toBe(1);
  });

  it('treats an event time later than its receipt as the receipt time', () => {
    const w = new ThresholdWindow({ ...rule, threshold: 1 });
    const b = w.add({ ...ev('future', 0), time: T0 + 999 * MIN }, T0);
    expect(b).toMatchObject({ start: T0 });
  });

  it('resumes from a snapshot exactly where it left off (continue-as-new)', () => {
    const a = new ThresholdWindow(rule);
    feed(a, [ev('a', 0), ev('b', 1)]);
    const b = new ThresholdWindow(rule, JSON.parse(JSON.stringify(a.snapshot())) as ReturnType<typeof a.snapshot>);
    expect(b.add(ev('a', 2), T0 + 2 * MIN)).toBeUndefined(); // still a duplicate
    expect(feed(b, [ev('c', 3)])).toHaveLength(1);
    expect(b.stats).toMatchObject({ received: 4, counted: 3, duplicates: 1 });
  });

  it('keeps bounded state: bodies only for the newest `attach` events, at most MAX_REMEMBERED_IDS ids', () => {
    const w = new ThresholdWindow({ ...rule, threshold: 1000, windowMs: 10_000 * MIN, cooldownMs: 0 });
    const breaches = [];
    for (let i = 0; i < MAX_REMEMBERED_IDS + 10; i++) {
      breaches.push(w.add(ev(`e${i}`, i / 1000, { pad: 'x'.repeat(100) }), T0 + i));
    }
    const fired = breaches.filter((b) => b !== undefined);
    expect(fired.map((b) => b.attached.map((a) => a.id))[0]).toEqual(['e999', 'e998']);
    const snap = w.snapshot();
    expect(snap.seen).toHaveLength(MAX_REMEMBERED_IDS);
    expect(snap.pending).toHaveLength(10);
    expect(snap.pending.filter((p) => p.event !== undefined)).toHaveLength(rule.attach);
    expect(JSON.stringify(snap).length).toBeLessThan(1_000_000);
  });

  it('forgets ids after the dedupe horizon, and becomes idle only after every horizon', () => {
    const w = new ThresholdWindow({ ...rule, dedupeForMs: 60 * MIN });
    w.add(ev('a', 0), T0);
    expect(w.idleAt()).toBe(T0 + 60 * MIN);
    w.add(ev('a', 0), T0 + 61 * MIN); // forgotten: no longer recognised as a duplicate
    expect(w.stats).toMatchObject({ duplicates: 0, received: 2 });
    expect(w.idleAt()).toBe(T0 + 121 * MIN);
  });
});
