/** What {@link scrubValues} puts where a secret was. */
export const REDACTED = '[redacted]';

/**
 * The forms a secret commonly takes inside a message: as is, base64 (standard and URL-safe, with and
 * without padding), URL-encoded, and JSON-escaped. Longest first, so a longer form is replaced whole.
 */
export function secretForms(value: string): string[] {
  if (!value) return [];
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const forms = new Set([
    value,
    b64,
    b64.replace(/=+$/, ''),
    Buffer.from(value, 'utf8').toString('base64url'),
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
    JSON.stringify(value).slice(1, -1),
  ]);
  forms.delete('');
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Replaces every occurrence of each value (in each of its {@link secretForms}) with `[redacted]`.
 * A secret split across lines or embedded in a larger base64 blob at another offset is not found: scrub
 * what leaves an activity, and keep secrets out of messages in the first place.
 */
export function scrubValues(text: string, values: Iterable<string>): string {
  let out = text;
  for (const value of values) {
    for (const form of secretForms(value)) out = out.split(form).join(REDACTED);
  }
  return out;
}
