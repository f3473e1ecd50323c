/** Per-class figures of a classification run. */
export interface ClassScore {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Classification quality over labelled examples. */
export interface ClassificationReport {
  n: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassScore[];
  /** confusion[i][j]: examples of labels[i] predicted as columns[j] (the last column: an answer outside the labels). */
  confusion: number[][];
  labels: string[];
  columns: string[];
}

/** The column for predictions that are none of the labels (invalid or missing answers). */
export const OTHER_COLUMN = '(none)';

/**
 * Accuracy, macro-F1 (mean of per-class F1, each class counting equally), per-class precision and recall,
 * and the confusion matrix. A prediction outside `labels` (or null: no valid answer) counts as wrong and
 * lands in the last column. A class never predicted has precision 0.
 */
export function scoreClassification(
  examples: { gold: string; predicted: string | null }[],
  labels: readonly string[],
): ClassificationReport {
  const columns = [...labels, OTHER_COLUMN];
  const index = new Map(labels.map((l, i) => [l, i]));
  const confusion = labels.map(() => columns.map(() => 0));
  let correct = 0;
  for (const e of examples) {
    const g = index.get(e.gold);
    if (g === undefined) throw new Error(`gold label "${e.gold}" is not one of the labels`);
    const p = e.predicted === null ? undefined : index.get(e.predicted);
    confusion[g]![p ?? labels.length]!++;
    if (p === g) correct++;
  }
  const perClass = labels.map((label, i) => {
    const tp = confusion[i]![i]!;
    const support = confusion[i]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[i]!, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, precision, recall, f1 };
  });
  return {
    n: examples.length,
    accuracy: examples.length ? correct / examples.length : 0,
    macroF1: perClass.length ? perClass.reduce((a, c) => a + c.f1, 0) / perClass.length : 0,
    perClass,
    confusion,
    labels: [...labels],
    columns,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The report as Markdown tables: summary line, per-class scores, confusion matrix. */
export function renderReport(r: ClassificationReport): string {
  const short = (s: string) => (s.length > 12 ? `${s.slice(0, 11)}…` : s);
  return [
    `n = ${r.n}, accuracy ${pct(r.accuracy)}, macro-F1 ${r.macroF1.toFixed(3)}`,
    '',
    '| class | support | precision | recall | F1 |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.perClass.map(
      (c) => `| ${c.label} | ${c.support} | ${pct(c.precision)} | ${pct(c.recall)} | ${c.f1.toFixed(3)} |`,
    ),
    '',
    `| gold \\ predicted | ${r.columns.map(short).join(' | ')} |`,
    `| --- | ${r.columns.map(() => '---:').join(' | ')} |`,
    ...r.labels.map((l, i) => `| ${l} | ${r.confusion[i]!.join(' | ')} |`),
  ].join('\n');
}
