/**
 * Slack's documented Block Kit limits the builders stay within, each with the reference page that states it; Slack
 * refuses (`invalid_arguments`, `invalid_blocks`) or truncates what goes past them.
 */
export const BLOCK_KIT_LIMITS = {
  /** docs.slack.dev/reference/views/modal-views and …/views/home-tab-views: "Max of 100 blocks". */
  viewBlocks: 100,
  /** docs.slack.dev/reference/block-kit/blocks: "up to 50 blocks in each message". */
  messageBlocks: 50,
  /** docs.slack.dev/reference/block-kit/block-elements/select-menu-element: static select, at most 100 options. */
  selectOptions: 100,
  /** Same page, and …/composition-objects/option-group-object: at most 100 option groups. */
  optionGroups: 100,
  /**
   * docs.slack.dev/reference/interaction-payloads/block_suggestion-payload: "a maximum of 100 options or option
   * groups" in the answer to one `block_suggestion`.
   */
  suggestionOptions: 100,
  /** docs.slack.dev/reference/block-kit/composition-objects/option-object: `text` and `description`, 75 each. */
  optionText: 75,
  /** Same page: `value`, at most 150 characters. */
  optionValue: 150,
  /** …/composition-objects/option-group-object: `label`, at most 75 characters. */
  optionGroupLabel: 75,
  /** docs.slack.dev/reference/block-kit/blocks/section-block: `text`, at most 3000 characters. */
  sectionText: 3000,
  /** Same page: each of `fields`, at most 2000 characters. */
  sectionFieldText: 2000,
  /** docs.slack.dev/reference/block-kit/blocks/header-block: `text`, at most 150 characters. */
  headerText: 150,
  /** docs.slack.dev/reference/block-kit/block-elements/button-element: `text`, at most 75 characters. */
  buttonText: 75,
  /** docs.slack.dev/reference/block-kit/blocks/input-block: `hint`, at most 2000 characters. */
  inputHint: 2000,
  /**
   * docs.slack.dev/reference/methods/chat.postMessage: keep `text` within 4,000 characters for best results (Slack
   * truncates past 40,000). Replies to `/jit` are plain text and follow the same advice.
   */
  messageText: 4000,
} as const;
