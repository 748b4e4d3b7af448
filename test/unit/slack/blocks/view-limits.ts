import type { KnownBlock, View } from '@slack/types';

/**
 * Slack's documented limits a view must respect, or `views.open`/`views.publish` fail with invalid_arguments:
 * at most 100 blocks, unique block IDs, titles and button labels within their lengths, option texts within 75.
 * @returns every broken limit, as readable lines (empty when the view is fine).
 */
export function viewLimitProblems(view: View): string[] {
  const problems: string[] = [];
  const blocks = view.blocks as KnownBlock[];
  if (blocks.length > 100) problems.push(`${blocks.length} blocks (at most 100)`);
  const ids = blocks.map((block) => block.block_id).filter((id): id is string => id !== undefined);
  const duplicates = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (duplicates.length > 0) problems.push(`duplicate block_id: ${duplicates.join(', ')}`);
  if (view.type === 'modal') {
    for (const [name, text] of [
      ['title', view.title.text],
      ['submit', view.submit?.text],
      ['close', view.close?.text],
    ] as const) {
      if (text !== undefined && text.length > 24) problems.push(`${name} "${text}" longer than 24`);
    }
    if ((view.private_metadata ?? '').length > 3000) problems.push('private_metadata longer than 3000');
  }
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        walk(item, `${path}[${index}]`);
      });
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const node = value as Record<string, unknown>;
    if (Array.isArray(node.options) && node.options.length > 100) problems.push(`${path}: more than 100 options`);
    if (node.type === 'section' && typeof (node.text as { text?: unknown } | undefined)?.text === 'string') {
      const text = (node.text as { text: string }).text;
      if (text.length > 3000) problems.push(`${path}: section text longer than 3000`);
    }
    if (node.type === 'button') {
      const label = (node.text as { text: string }).text;
      if (label.length > 75) problems.push(`${path}: button label longer than 75`);
      if (typeof node.value === 'string' && node.value.length > 2000) problems.push(`${path}: button value too long`);
    }
    if (
      path.endsWith('options') === false &&
      node.value !== undefined &&
      node.text !== undefined &&
      node.type === undefined
    ) {
      const optionText = (node.text as { text: string }).text;
      if (optionText.length > 75) problems.push(`${path}: option text longer than 75`);
      const description = (node.description as { text?: string } | undefined)?.text;
      if (description !== undefined && description.length > 75)
        problems.push(`${path}: option description longer than 75`);
    }
    for (const [key, child] of Object.entries(node)) walk(child, `${path}.${key}`);
  };
  walk(blocks, 'blocks');
  return problems;
}
