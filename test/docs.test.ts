import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli';

/*
 * The docs stay true to the CLI: every `warden …` command shown in README.md and docs/ must name a real
 * command and only options that command has. Commands in code blocks and in table cells both count.
 */

const ROOT = path.join(__dirname, '..');

function docFiles(): string[] {
  const out = [path.join(ROOT, 'README.md')];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(path.join(ROOT, 'docs'));
  return out;
}

/** Every `warden …` invocation in a Markdown file, with its line number. */
function commandsIn(file: string): { line: number; words: string[] }[] {
  const found: { line: number; words: string[] }[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      for (const m of text.matchAll(/(?:^|[\s`(|])(?:npx )?warden ((?:[a-z][\w-]*)(?: [^`#|\n]*)?)/g)) {
        const words = m[1]!.replace(/\\\|/g, '|').trim().split(/\s+/);
        found.push({ line: i + 1, words });
      }
    });
  return found;
}

/** The deepest subcommand the words name, and the words left over. */
function resolve(program: Command, words: string[]): { cmd: Command; rest: string[] } {
  let cmd = program;
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i]!.split('|')[0]!;
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) break;
    cmd = sub;
  }
  return { cmd, rest: words.slice(i) };
}

const program = buildProgram({ out: () => undefined, err: () => undefined, readStdin: () => Promise.resolve('') });

describe('docs name only real commands and options', () => {
  const all = docFiles().flatMap((file) =>
    commandsIn(file).map((c) => ({ where: `${path.relative(ROOT, file)}:${c.line}`, words: c.words })),
  );

  it('finds the documented commands', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it.each(all.map((c) => [c.where, c.words.join(' '), c.words] as const))('%s: warden %s', (_where, _line, words) => {
    const { cmd, rest } = resolve(program, words);
    // The first word must be a command (prose like "warden is running" is not matched by the extractor).
    expect(cmd).not.toBe(program);
    const known = new Set(cmd.options.flatMap((o) => [o.long, o.short].filter(Boolean) as string[]));
    known.add('--help');
    const used = rest
      .flatMap((w) => w.split('|'))
      .map((w) => w.replace(/[[\]…,.;:)]+$/g, '').replace(/^[[(]+/, ''))
      .filter((w) => /^--?[a-z]/.test(w))
      .map((w) => w.split('=')[0]!);
    expect(used.filter((o) => !known.has(o))).toEqual([]);
  });
});
