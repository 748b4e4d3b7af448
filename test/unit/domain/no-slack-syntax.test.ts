import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * The domain gives codes and plain facts; only the Slack layer writes Slack text. This reads every file in
 * src/domain and fails on Slack syntax in its code: mentions (`<@`), channel links (`<#`), special mentions and
 * dates (`<!`) and command hints (`/jit`) in any string, template or regular expression literal. Comments are
 * not code and may name commands.
 */
const DOMAIN = join(__dirname, '../../../src/domain');
const SLACK_SYNTAX = /<@|<#|<!|\/jit\b/;

/** Every `.ts` file under `dir`, recursively. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The literal text in the code of one file (never its comments), each with its line. */
function literals(fileName: string, text: string): { line: number; text: string }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: { line: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node) ||
      ts.isRegularExpressionLiteral(node)
    ) {
      found.push({ line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: node.getText() });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function slackSyntaxIn(fileName: string, text: string): string[] {
  return literals(fileName, text)
    .filter((literal) => SLACK_SYNTAX.test(literal.text))
    .map((literal) => `${fileName}:${literal.line}: ${literal.text}`);
}

describe('the domain writes no Slack text', () => {
  const files = sourceFiles(DOMAIN);

  it('reads the domain', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((file) => [relative(DOMAIN, file), file]))('%s has no Slack syntax in its code', (_, file) => {
    expect(slackSyntaxIn(relative(DOMAIN, file), readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('would find a mention, a channel link, a special mention or a command hint, but not a comment', () => {
    const sample = [
      '// `/jit cancel` and <@U0ALICE> in a comment are fine',
      '/** so is <#C0ADMIN> in TSDoc */',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source code to scan, not a template
      'const a = `Only <@${requesterId}> may`;',
      "const b = 'see <#C0ADMIN>';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source code to scan, not a template
      'const c = `${x} then <!channel>`;',
      'const d = "use `/jit list`";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source code to scan, not a template
      'const e = `${x} ${y} and /jit roles`;',
      'const f = /<@U[A-Z0-9]+>/;',
      "const g = 'plain U0ALICE and jit-k7m2xq9d';",
    ].join('\n');
    expect(slackSyntaxIn('sample.ts', sample).map((hit) => hit.split(':')[1])).toEqual(['3', '4', '5', '6', '7', '8']);
  });
});
