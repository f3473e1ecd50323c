import YAML from 'yaml';

/** A knowledge article as indexed: its title and its searchable text. */
export interface ArticleText {
  title: string;
  body: string;
  /** Optional `tags:` from front matter, searched with the title. */
  tags: string[];
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

/**
 * Reads a Markdown article: YAML front matter (`title`, `tags`) when present, else the first `# heading`,
 * else the file name, as the title; the body loses Markdown syntax that only adds noise to search (link
 * targets, emphasis marks, code fences). Never throws: a broken front matter is treated as text.
 */
export function parseArticle(markdown: string, fileName: string): ArticleText {
  let text = markdown.replace(/^\uFEFF/, '');
  let title: string | undefined;
  let tags: string[] = [];
  const fm = FRONT_MATTER.exec(text);
  if (fm?.[1] !== undefined) {
    try {
      const meta = YAML.parse(fm[1]) as { title?: unknown; tags?: unknown } | null;
      if (typeof meta?.title === 'string') title = meta.title.trim();
      if (Array.isArray(meta?.tags)) tags = meta.tags.filter((t): t is string => typeof t === 'string');
      text = text.slice(fm[0].length);
    } catch {
      // Not YAML after all: keep it as body text.
    }
  }
  const heading = /^#\s+(.+)$/m.exec(text);
  title ??= heading?.[1]?.trim() ?? fileName.replace(/\.md$/i, '').replace(/[-_]+/g, ' ');
  const body = text
    .replace(/```[a-z]*\n?/gi, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^#+\s+/gm, '')
    .replace(/[*_`>]+/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { title, body, tags };
}
