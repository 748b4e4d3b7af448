/**
 * The text of a `## heading` section of a Markdown document, up to the next `## ` heading (its `###`
 * subsections included), so a test reads only the part of the README it checks.
 * @throws when the document has no such heading, so a renamed section fails loudly instead of matching nothing.
 */
export function markdownSection(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start === -1) throw new Error(`no "## ${heading}" section`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}
