/**
 * The classifier's `language` answer as a language tag. Small models write the language's name ("English",
 * "Deutsch") or a locale ("en_US") as often as the ISO 639-1 code the prompt asks for; a classification
 * is not thrown away for that. Names are resolved with the runtime's ICU data (Intl.DisplayNames), in
 * English and in the language itself; anything unrecognisable becomes `und` (ISO 639 "undetermined"),
 * and the reply is then checked by a human like any other low-information answer.
 */

let names: Map<string, string> | undefined;

/** Every two-letter language code ICU names, keyed by its English and its own (endonym) name, lower-cased. */
function languageNames(): Map<string, string> {
  if (names) return names;
  names = new Map();
  const english = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });
  for (let a = 97; a <= 122; a++)
    for (let b = 97; b <= 122; b++) {
      const code = String.fromCharCode(a, b);
      const name = english.of(code);
      if (!name) continue;
      names.set(name.toLowerCase(), code);
      try {
        const own = new Intl.DisplayNames([code], { type: 'language', fallback: 'none' }).of(code);
        if (own && !names.has(own.toLowerCase())) names.set(own.toLowerCase(), code);
      } catch {
        // No locale data for the language itself: its English name is enough.
      }
    }
  return names;
}

const TAG = /^([a-z]{2,3})(?:[-_]([a-z0-9]{2,8}))?$/i;

/** A language tag (`en`, `pt-br`) for what a model answered, or `und` when it names no language. */
export function normalizeLanguage(value: unknown): string {
  if (typeof value !== 'string') return 'und';
  const text = value.trim();
  const tag = TAG.exec(text);
  if (tag) {
    const primary = tag[1]!.toLowerCase();
    const name = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' }).of(primary);
    if (name) {
      const code = primary.length === 2 ? primary : (languageNames().get(name.toLowerCase()) ?? primary);
      return tag[2] ? `${code}-${tag[2].toLowerCase()}` : code;
    }
  }
  return languageNames().get(text.toLowerCase().replace(/\s*\(.*\)$/, '')) ?? 'und';
}
