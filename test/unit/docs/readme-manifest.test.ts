import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { markdownSection } from '../../support/markdown-section';

const ROOT = join(__dirname, '../../..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const manifestText = readFileSync(join(ROOT, 'manifest.yml'), 'utf8');

interface Manifest {
  oauth_config: { scopes: { bot: string[] } };
}

/** Every string in a parsed YAML document, however deep. */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node !== null && typeof node === 'object') return Object.values(node).flatMap(strings);
  return [];
}

/** Step `n.` of a numbered list, up to the next step or the end of the section. */
function step(section: string, n: number): string {
  const start = section.search(new RegExp(`^${n}\\. `, 'm'));
  if (start === -1) throw new Error(`no step ${n}`);
  // A step's continuation lines are indented; the next unindented line starts the next step or ends the list.
  const lines = section.slice(start).split('\n');
  const end = lines.findIndex((line, index) => index > 0 && /^\S/.test(line));
  return lines.slice(0, end === -1 ? undefined : end).join('\n');
}

/** The paragraph after a bold `**title**` line of the README's top, up to the first `## ` heading after it. */
function topParagraph(title: string): string {
  const start = readme.indexOf(`**${title}**`);
  if (start === -1) throw new Error(`no **${title}** paragraph`);
  const end = readme.indexOf('\n## ', start);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('README and manifest.yml agree', () => {
  const createApp = markdownSection(readme, 'Create the Slack app');

  it("lists exactly the manifest's bot scopes in the install step", () => {
    const manifest = parse(manifestText) as Manifest;
    const install = step(createApp, 3);
    // The run of backticked, comma-separated names right after "bot scopes"; the explanation after it is free text.
    const list = /bot scopes:?\s+((?:`[^`]+`,?\s*)+)/.exec(install)?.[1];
    expect(list).toBeDefined();
    const listed = [...(list ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
  });

  it('tells how many YOUR-HOST URLs the manifest has', () => {
    // Counted from the parsed values, so the manifest's own comments about YOUR-HOST are not counted.
    const urls = strings(parse(manifestText)).filter((value) => /^https:\/\/YOUR-HOST\//.test(value));
    expect(urls.length).toBeGreaterThan(0);
    const stated = [...createApp.matchAll(/`YOUR-HOST` in all (\d+) URLs/g)].map((match) => Number(match[1]));
    expect(stated.length).toBeGreaterThan(0);
    for (const count of stated) expect(count).toBe(urls.length);
    // Any other count of them in words would go stale the same way.
    expect(createApp).not.toMatch(/\b(once|twice|thrice|(two|three|four|five) (times|URLs))\b/);
  });
});

describe('README states what the tests need', () => {
  // The moto launcher's own error message gives the install command; the README must give the same one.
  const launcher = readFileSync(join(ROOT, 'test/support/moto-server.ts'), 'utf8');
  const install = /`(pip install [^`]+)`/.exec(launcher)?.[1];

  it('names the moto install command the launcher asks for, in Prerequisites and under "Run the tests"', () => {
    expect(install).toBeDefined();
    expect(launcher).toContain("findOnPath('moto_server')");
    for (const text of [markdownSection(readme, 'Prerequisites'), topParagraph('Run the tests')]) {
      expect(text).toContain('`moto_server`');
      expect(text).toContain(`\`${install}\``);
    }
  });

  it('keeps the two commands at the top', () => {
    expect(topParagraph('Start the bot')).toContain('```sh\nnpm ci && npm start\n```');
    expect(topParagraph('Run the tests')).toContain('```sh\nnpm test\n```');
  });
});
