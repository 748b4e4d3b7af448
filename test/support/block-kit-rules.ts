/**
 * The Block Kit limits the fake Slack enforces, as Slack's reference pages state them (source beside each), so a
 * builder that goes past one fails in tests the way it would fail against Slack.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;
const textOf = (value: unknown): string | undefined =>
  isObject(value) && typeof value.text === 'string' ? value.text : undefined;
const arrayOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** docs.slack.dev/reference/block-kit/composition-objects/option-object: text and description ≤ 75, value ≤ 150. */
function optionProblems(option: unknown, at: string): string[] {
  if (!isObject(option)) return [`${at}: not an option object`];
  const problems: string[] = [];
  if ((textOf(option.text) ?? '').length > 75) problems.push(`${at}.text: longer than 75 characters`);
  if ((textOf(option.description) ?? '').length > 75) problems.push(`${at}.description: longer than 75 characters`);
  if (typeof option.value === 'string' && option.value.length > 150)
    problems.push(`${at}.value: longer than 150 characters`);
  return problems;
}

/** Options and option groups of a static menu, or of an answer to a `block_suggestion`. */
export function optionListProblems(holder: Json, at: string): string[] {
  const problems: string[] = [];
  const options = arrayOf(holder.options);
  const groups = arrayOf(holder.option_groups);
  // docs.slack.dev/reference/block-kit/block-elements/select-menu-element: "Maximum number of options is 100",
  // "Maximum number of option groups is 100".
  if (options.length > 100) problems.push(`${at}.options: ${options.length} items, at most 100`);
  if (groups.length > 100) problems.push(`${at}.option_groups: ${groups.length} items, at most 100`);
  options.forEach((option, index) => {
    problems.push(...optionProblems(option, `${at}.options[${index}]`));
  });
  groups.forEach((group, index) => {
    const groupAt = `${at}.option_groups[${index}]`;
    if (!isObject(group)) return;
    // docs.slack.dev/reference/block-kit/composition-objects/option-group-object: label ≤ 75, options ≤ 100.
    if ((textOf(group.label) ?? '').length > 75) problems.push(`${groupAt}.label: longer than 75 characters`);
    const groupOptions = arrayOf(group.options);
    if (groupOptions.length > 100) problems.push(`${groupAt}.options: ${groupOptions.length} items, at most 100`);
    groupOptions.forEach((option, optionIndex) => {
      problems.push(...optionProblems(option, `${groupAt}.options[${optionIndex}]`));
    });
  });
  // …/composition-objects/option-group-object: "a maximum number of 100 option groups with a maximum of 100
  // options", read as 100 options in the whole menu (the stricter reading).
  const total = groups.reduce<number>((sum, group) => sum + (isObject(group) ? arrayOf(group.options).length : 0), 0);
  if (total > 100) problems.push(`${at}.option_groups: ${total} options in all, at most 100`);
  return problems;
}

function elementProblems(element: unknown, at: string): string[] {
  if (!isObject(element)) return [];
  const problems: string[] = [];
  switch (element.type) {
    case 'static_select':
    case 'multi_static_select':
      problems.push(...optionListProblems(element, at));
      break;
    case 'button':
      // docs.slack.dev/reference/block-kit/block-elements/button-element: text ≤ 75, value ≤ 2000.
      if ((textOf(element.text) ?? '').length > 75) problems.push(`${at}.text: longer than 75 characters`);
      if (typeof element.value === 'string' && element.value.length > 2000)
        problems.push(`${at}.value: longer than 2000 characters`);
      break;
    default:
      break;
  }
  return problems;
}

function blockProblems(block: unknown, at: string): string[] {
  if (!isObject(block)) return [`${at}: not a block`];
  const problems: string[] = [];
  // docs.slack.dev/reference/block-kit/blocks: block_id at most 255 characters.
  if (typeof block.block_id === 'string' && block.block_id.length > 255)
    problems.push(`${at}.block_id: longer than 255 characters`);
  switch (block.type) {
    case 'section': {
      // docs.slack.dev/reference/block-kit/blocks/section-block: text ≤ 3000; fields ≤ 10 items of ≤ 2000.
      if ((textOf(block.text) ?? '').length > 3000) problems.push(`${at}.text: longer than 3000 characters`);
      const fields = arrayOf(block.fields);
      if (fields.length > 10) problems.push(`${at}.fields: ${fields.length} items, at most 10`);
      fields.forEach((field, index) => {
        if ((textOf(field) ?? '').length > 2000) problems.push(`${at}.fields[${index}]: longer than 2000 characters`);
      });
      problems.push(...elementProblems(block.accessory, `${at}.accessory`));
      break;
    }
    case 'header':
      // docs.slack.dev/reference/block-kit/blocks/header-block: text ≤ 150.
      if ((textOf(block.text) ?? '').length > 150) problems.push(`${at}.text: longer than 150 characters`);
      break;
    case 'context': {
      // docs.slack.dev/reference/block-kit/blocks/context-block: at most 10 elements.
      const elements = arrayOf(block.elements);
      if (elements.length > 10) problems.push(`${at}.elements: ${elements.length} items, at most 10`);
      elements.forEach((element, index) => {
        // docs.slack.dev/reference/block-kit/composition-objects/text-object: text ≤ 3000.
        if ((textOf(element) ?? '').length > 3000)
          problems.push(`${at}.elements[${index}]: longer than 3000 characters`);
      });
      break;
    }
    case 'actions': {
      // docs.slack.dev/reference/block-kit/blocks/actions-block: at most 25 elements.
      const elements = arrayOf(block.elements);
      if (elements.length > 25) problems.push(`${at}.elements: ${elements.length} items, at most 25`);
      elements.forEach((element, index) => {
        problems.push(...elementProblems(element, `${at}.elements[${index}]`));
      });
      break;
    }
    case 'input':
      // docs.slack.dev/reference/block-kit/blocks/input-block: label ≤ 2000, hint ≤ 2000.
      if ((textOf(block.label) ?? '').length > 2000) problems.push(`${at}.label: longer than 2000 characters`);
      if ((textOf(block.hint) ?? '').length > 2000) problems.push(`${at}.hint: longer than 2000 characters`);
      problems.push(...elementProblems(block.element, `${at}.element`));
      break;
    default:
      break;
  }
  return problems;
}

/** Every block, with `max` blocks at most and no block ID used twice. */
function blocksProblems(blocks: unknown, max: number, at: string): string[] {
  if (blocks === undefined) return [];
  if (!Array.isArray(blocks)) return [`${at}: not an array`];
  const problems: string[] = [];
  if (blocks.length > max) problems.push(`${at}: ${blocks.length} items, at most ${max}`);
  const ids = blocks.map((block) => (isObject(block) ? block.block_id : undefined)).filter((id) => id !== undefined);
  // docs.slack.dev/reference/block-kit/blocks: "block_id should be unique for each message".
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (repeated.length > 0) problems.push(`${at}: block_id used twice: ${repeated.join(', ')}`);
  blocks.forEach((block, index) => {
    problems.push(...blockProblems(block, `${at}[${index}]`));
  });
  return problems;
}

/**
 * What Slack would refuse in a view given to views.open/update/push/publish: docs.slack.dev/reference/views/
 * modal-views and …/home-tab-views ("Max of 100 blocks"; title, submit and close ≤ 24; private_metadata ≤ 3000).
 */
export function viewProblems(view: unknown): string[] {
  if (!isObject(view)) return ['/view: not a view object'];
  const problems = blocksProblems(view.blocks, 100, '/view/blocks');
  for (const key of ['title', 'submit', 'close'] as const) {
    if ((textOf(view[key]) ?? '').length > 24) problems.push(`/view/${key}: longer than 24 characters`);
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    problems.push('/view/private_metadata: longer than 3000 characters');
  return problems;
}

/** What Slack would refuse in a message's blocks: docs.slack.dev/reference/block-kit/blocks ("up to 50 blocks"). */
export function messageBlocksProblems(blocks: unknown): string[] {
  return blocksProblems(blocks, 50, '/blocks');
}
