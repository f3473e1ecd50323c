/*
 * Free text (a ticket) → an FTS5 MATCH expression. Ticket text is untrusted and FTS5 has its own query
 * syntax (NEAR, column filters, quotes, `*`): every term is quoted, so no input can change the query's
 * meaning or make it fail to parse.
 */

/** Words too common in tickets to say anything about the topic. */
const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can could do does for from get got has have hello hi how i if in into is it its ' +
    'me my need no not of on or our please regards so thank thanks that the their them then there this to too up us ' +
    'was we were what when where which while who why will with would you your yes any some all just also am dear help ' +
    'cannot cant dont im ive team issue problem hey'
  ).split(' '),
);

/** Most terms one query carries (long tickets): the rarest words matter, BM25 weighs them. */
export const MAX_QUERY_TERMS = 32;

/**
 * The distinct words of `text` (letters and digits in any script, at least 2 characters, no stop words), at
 * most {@link MAX_QUERY_TERMS}, each quoted, joined with OR. Empty when nothing searchable is left.
 */
export function toMatchQuery(text: string): string {
  const terms: string[] = [];
  const seen = new Set<string>();
  for (const raw of text
    .toLowerCase()
    .normalize('NFKC')
    .match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (raw.length < 2 || STOPWORDS.has(raw) || seen.has(raw)) continue;
    seen.add(raw);
    terms.push(`"${raw}"`);
    if (terms.length >= MAX_QUERY_TERMS) break;
  }
  return terms.join(' OR ');
}
