import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseEnv } from '../../src/config/env-schema';
import { parsePolicy } from '../../src/config/policy-schema';
import { buildContainer, type Container } from '../../src/container';
import type { AccessRequest, MessageRef } from '../../src/domain/access-request';
import type { CloudProvider } from '../../src/domain/ports';
import { createLogger } from '../../src/lib/logger';
import { PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS, PROVIDER_TARGET_SCHEMAS } from '../../src/providers/registry';
import { approvalDurationBlockId } from '../../src/slack/blocks/approval-duration';
import { ACTION_IDS, EVENT_NAMES, INPUT_IDS, VIEW_IDS } from '../../src/slack/ids';
import { eventually, eventuallyValue } from './eventually';
import { type FakeSlackApi, type RecordedCall, startFakeSlackApi } from './fake-slack-api';
import {
  type BlockActionsInput,
  blockActionsBody,
  blockSuggestionBody,
  eventCallbackBody,
  nextTriggerId,
  slashCommandBody,
  type ViewRef,
  viewBlockActionsBody,
  viewSubmissionBody,
} from './slack-payloads';
import { postSigned, type SignedPostResult } from './slack-signer';

export const APPROVAL_CHANNEL = 'C0APPROVALS';

export interface TestBotOptions {
  policyYaml: string;
  usergroups?: Record<string, string[]>;
  /** Extra environment, e.g. `{ SLACK_APP_TOKEN }`. */
  env?: Record<string, string>;
  /** Providers built by the test (e.g. trusting a fake cloud's certificate). */
  providers?: readonly CloudProvider[];
  /** A Redis of the test's own (e.g. one it will empty or restart); the shared test Redis otherwise. */
  redisUrl?: string;
}

/** The real bot (Bolt over HTTP, BullMQ workers, Redis store) wired to a fake Slack Web API. */
export interface TestBot {
  container: Container;
  slack: FakeSlackApi;
  baseUrl: string;
  eventsUrl: string;
  signingSecret: string;
  /** Everything the bot logged, one parsed JSON object per line. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  /** Sends `/jit <text>` as `userId`, signed; returns Bolt's HTTP answer. */
  command(userId: string, text: string): Promise<SignedPostResult>;
  /** The ephemeral text of a `/jit` answer. */
  commandText(userId: string, text: string): Promise<string>;
  /** Clicks a button on the stored approval message of the request, as `userId`. */
  click(userId: string, action: keyof typeof ACTION_IDS, requestId: string): Promise<SignedPostResult>;
  /** Clicks Approve on the approval message having chosen `duration` (e.g. `30m`) in its "Approve for" menu. */
  approveFor(userId: string, requestId: string, duration: string): Promise<SignedPostResult>;
  /** Files a request and returns its ID (fails the test if the bot refused). */
  request(userId: string, text: string): Promise<string>;
  /** Waits for the approval message of a request to be posted. */
  approvalMessage(requestId: string): Promise<RecordedCall>;
  /** Waits until the store holds where the approval message of a request is (clicks need its channel and ts). */
  storedApprovalMessage(requestId: string): Promise<MessageRef>;
  /**
   * Waits until every Slack request the bot received so far has been handled to the end (Bolt's listeners have
   * returned), not merely acknowledged: the positive signal to wait for before asserting that something did not
   * happen.
   */
  handled(): Promise<void>;
  /** Waits until the stored request is in `state`. */
  waitForState(requestId: string, state: AccessRequest['state'], timeoutMs?: number): Promise<AccessRequest>;
  /** Files a request, has `approverId` approve it, and waits until access is active and the requester told. */
  requestApproved(requesterId: string, text: string, approverId: string): Promise<AccessRequest>;
  /** Files a request, has `approverId` approve it, and waits until granting it failed. */
  requestApprovedButFailed(requesterId: string, text: string, approverId: string): Promise<AccessRequest>;
  /** Waits until the request expired and the requester and the approval thread were told. */
  waitForExpiry(request: AccessRequest, timeoutMs?: number): Promise<AccessRequest>;
  /** Presses any button (`actionId`, carrying `value`) on a message, as `userId`, signed. */
  press(
    userId: string,
    actionId: string,
    value: string,
    on: { channelId: string; messageTs?: string },
  ): Promise<SignedPostResult>;
  /** Waits for an ephemeral message to `userId` whose text includes `fragment`. */
  waitForEphemeral(userId: string, fragment: string): Promise<RecordedCall>;
  /** Replaces the policy the running bot reads at each decision, as a reload does. */
  setPolicy(policyYaml: string): void;
  /** Waits for a DM (chat.postMessage to the user ID) whose text includes `fragment`. */
  waitForDm(userId: string, fragment: string, timeoutMs?: number): Promise<RecordedCall>;
  /** Sends `app_home_opened` for `userId` and waits for the App Home the bot publishes in answer. */
  openHome(userId: string): Promise<RecordedCall>;
  /** Presses a button on `userId`'s App Home, signed. */
  pressInHome(userId: string, actionId: string, value: string): Promise<SignedPostResult>;
  /** Presses a button (or picks from a menu) inside an open modal, signed. */
  pressInModal(
    userId: string,
    opened: RecordedCall,
    actionId: string,
    value: string,
    options?: { kind?: 'button' | 'static_select' | 'external_select'; values?: ViewRef['values'] },
  ): Promise<SignedPostResult>;
  /**
   * Types `typed` into the request form's type-ahead role menu, as `userId`, signed; returns Bolt's answer (the
   * options Slack would show) as it came over HTTP.
   */
  suggestRoles(userId: string, opened: RecordedCall, typed: string): Promise<SignedPostResult>;
  /** Waits for `views.open` of a modal with this `callback_id` opened on `triggerId` (any trigger when omitted). */
  waitForModal(callbackId: string, triggerId?: string): Promise<RecordedCall>;
  /** Submits a modal the bot opened (the recorded `views.open`/`views.update`), with these input values, signed. */
  submitModal(userId: string, opened: RecordedCall, values: ViewRef['values']): Promise<SignedPostResult>;
  /** Clicks Deny on the approval message and submits the reason modal; returns the submission's answer. */
  deny(userId: string, requestId: string, reason?: string): Promise<SignedPostResult>;
  stop(): Promise<void>;
}

/** Starts a bot on a fresh key prefix of the test Redis and a fresh fake Slack. */
export async function startTestBot(options: TestBotOptions): Promise<TestBot> {
  const redisUrl = options.redisUrl ?? process.env.JIT_TEST_REDIS_URL;
  if (!redisUrl)
    throw new Error('JIT_TEST_REDIS_URL is not set: run the tests through jest (its global setup starts Redis)');
  const slack = await startFakeSlackApi({ usergroups: options.usergroups ?? {} });
  const signingSecret = randomBytes(16).toString('hex');
  const env = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-test-token-0000',
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.url,
    REDIS_URL: redisUrl,
    JIT_REDIS_PREFIX: `jit-test-${randomUUID().slice(0, 8)}`,
    PORT: '0',
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const policy = parsePolicy(
    options.policyYaml,
    'test policy',
    PROVIDER_TARGET_SCHEMAS,
    PROVIDER_IAM_POWER,
    PROVIDER_PROPAGATION_MS,
  );
  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        rawLogs.push(line);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ unparsed: line });
        }
      }
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const config = { env, policy };
  const container = buildContainer({
    config,
    logger,
    slackClientOptions: { retryConfig: { retries: 0 } },
    // Secrets the policy names by variable come from the test's own environment, never the real one.
    environment: { ...options.env },
    ...(options.providers !== undefined && { providers: options.providers }),
  });
  // Bolt's receiver hands each request to `app.processEvent`, which resolves once the listeners have returned; the
  // requests still in there are the ones the bot is still handling.
  const inFlight = new Set<Promise<void>>();
  const processEvent = container.slack.app.processEvent.bind(container.slack.app);
  container.slack.app.processEvent = (event) => {
    const handling = processEvent(event);
    inFlight.add(handling);
    handling.then(
      () => inFlight.delete(handling),
      () => inFlight.delete(handling),
    );
    return handling;
  };
  const { port } = await container.start(0);
  const baseUrl = `http://127.0.0.1:${port}`;
  const eventsUrl = `${baseUrl}/slack/events`;

  const approvalMessage = (requestId: string) =>
    slack.waitFor(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.args.channel === APPROVAL_CHANNEL &&
        call.args.thread_ts === undefined &&
        JSON.stringify(call.args.blocks ?? []).includes(requestId),
      { description: `approval message for ${requestId}` },
    );

  const fileAndApprove = async (requesterId: string, text: string, approverId: string) => {
    const id = await bot.request(requesterId, text);
    await bot.approvalMessage(id);
    await bot.click(approverId, 'approve', id);
    return id;
  };

  const storedApprovalMessage = (requestId: string) =>
    eventuallyValue(
      () => container.store.getApprovalMessage(requestId),
      `the approval message of ${requestId} is stored`,
    );

  /** Presses a button on the stored approval message of the request, once it exists (people click only then). */
  const pressOnApprovalMessage = async (
    userId: string,
    actionId: string,
    requestId: string,
    triggerId: string,
    stateValues?: BlockActionsInput['stateValues'],
  ) => {
    const message = await storedApprovalMessage(requestId);
    const body = blockActionsBody({
      userId,
      actionId,
      value: requestId,
      channelId: message.channel,
      messageTs: message.ts,
      responseUrl: slack.responseUrl(),
      triggerId,
      ...(stateValues !== undefined && { stateValues }),
    });
    return postSigned(eventsUrl, body, signingSecret);
  };

  const bot: TestBot = {
    container,
    slack,
    baseUrl,
    eventsUrl,
    signingSecret,
    logs,
    rawLogs,
    command: (userId, text) =>
      postSigned(
        eventsUrl,
        slashCommandBody({ user_id: userId, text, response_url: slack.responseUrl() }),
        signingSecret,
      ),
    async commandText(userId, text) {
      const response = await bot.command(userId, text);
      if (response.status !== 200) throw new Error(`/jit ${text} answered HTTP ${response.status}: ${response.text}`);
      const json = response.json as { text?: string; response_type?: string } | undefined;
      if (json?.response_type !== 'ephemeral' || typeof json.text !== 'string') {
        throw new Error(`/jit ${text} did not answer with an ephemeral message: ${response.text}`);
      }
      return json.text;
    },
    async request(userId, text) {
      const reply = await bot.commandText(userId, `request ${text}`);
      const id = /Request `([^`]+)`/.exec(reply)?.[1];
      if (!id) throw new Error(`request was refused: ${reply}`);
      return id;
    },
    approvalMessage,
    storedApprovalMessage,
    async click(userId, action, requestId) {
      const triggerId = nextTriggerId();
      const seen = slack.calls().length;
      const pressed = await pressOnApprovalMessage(userId, ACTION_IDS[action], requestId, triggerId);
      if (action !== 'deny') return pressed;
      // Deny opens a reason modal, or is refused with an ephemeral: submit the modal when it opens.
      const outcome = await slack.waitFor(
        (call) =>
          slack.calls().indexOf(call) >= seen &&
          ((call.method === 'views.open' && call.args.trigger_id === triggerId) ||
            (call.method === 'chat.postEphemeral' && call.args.user === userId)),
        { description: `deny modal or refusal for ${userId} on ${requestId}` },
      );
      return outcome.method === 'views.open' ? bot.submitModal(userId, outcome, {}) : pressed;
    },
    approveFor: (userId, requestId, duration) =>
      pressOnApprovalMessage(userId, ACTION_IDS.approve, requestId, nextTriggerId(), {
        [approvalDurationBlockId(requestId)]: {
          [ACTION_IDS.approvalDuration]: { type: 'static_select', selected_option: { value: duration } },
        },
      }),
    async deny(userId, requestId, reason) {
      const triggerId = nextTriggerId();
      await pressOnApprovalMessage(userId, ACTION_IDS.deny, requestId, triggerId);
      const opened = await bot.waitForModal(VIEW_IDS.deny, triggerId);
      return bot.submitModal(
        userId,
        opened,
        reason === undefined
          ? {}
          : { [INPUT_IDS.reason]: { [INPUT_IDS.reason]: { type: 'plain_text_input', value: reason } } },
      );
    },
    async openHome(userId) {
      const seen = slack.calls().length;
      await postSigned(
        eventsUrl,
        eventCallbackBody({
          type: EVENT_NAMES.appHomeOpened,
          user: userId,
          channel: `D${userId.slice(1)}`,
          tab: 'home',
        }),
        signingSecret,
        { contentType: 'application/json' },
      );
      return slack.waitFor(
        (call) =>
          slack.calls().indexOf(call) >= seen && call.method === 'views.publish' && call.args.user_id === userId,
        { description: `App Home published for ${userId}` },
      );
    },
    pressInHome: (userId, actionId, value) =>
      postSigned(
        eventsUrl,
        viewBlockActionsBody({ userId, actionId, value, view: { id: `VHOME${userId}`, type: 'home' } }),
        signingSecret,
      ),
    pressInModal: (userId, opened, actionId, value, options = {}) =>
      postSigned(
        eventsUrl,
        viewBlockActionsBody({
          userId,
          actionId,
          value,
          ...(options.kind !== undefined && { kind: options.kind }),
          view: { ...viewRefOf(opened), ...(options.values !== undefined && { values: options.values }) },
        }),
        signingSecret,
      ),
    suggestRoles: (userId, opened, typed) =>
      postSigned(
        eventsUrl,
        blockSuggestionBody({
          userId,
          view: viewRefOf(opened),
          actionId: ACTION_IDS.pickRole,
          blockId: INPUT_IDS.role,
          value: typed,
        }),
        signingSecret,
      ),
    waitForModal: (callbackId, triggerId) =>
      slack.waitFor(
        (call) =>
          call.method === 'views.open' &&
          (call.args.view as { callback_id?: unknown } | undefined)?.callback_id === callbackId &&
          (triggerId === undefined || call.args.trigger_id === triggerId),
        { description: `modal ${callbackId} opened` },
      ),
    submitModal: (userId, opened, values) =>
      postSigned(
        eventsUrl,
        viewSubmissionBody({ userId, view: { ...viewRefOf(opened), ...(values !== undefined && { values }) } }),
        signingSecret,
      ),
    press: (userId, actionId, value, on) =>
      postSigned(
        eventsUrl,
        blockActionsBody({
          userId,
          actionId,
          value,
          channelId: on.channelId,
          ...(on.messageTs !== undefined && { messageTs: on.messageTs }),
          responseUrl: slack.responseUrl(),
        }),
        signingSecret,
      ),
    waitForEphemeral: (userId, fragment) =>
      slack.waitFor(
        (call) =>
          call.method === 'chat.postEphemeral' &&
          call.args.user === userId &&
          String(call.args.text).includes(fragment),
        { description: `ephemeral to ${userId} containing "${fragment}"` },
      ),
    setPolicy(policyYaml) {
      container.policy.replace(
        parsePolicy(policyYaml, 'test policy', PROVIDER_TARGET_SCHEMAS, PROVIDER_IAM_POWER, PROVIDER_PROPAGATION_MS),
      );
    },
    async requestApproved(requesterId, text, approverId) {
      const id = await fileAndApprove(requesterId, text, approverId);
      await bot.waitForDm(requesterId, 'is active until');
      return bot.waitForState(id, 'active');
    },
    async requestApprovedButFailed(requesterId, text, approverId) {
      return bot.waitForState(await fileAndApprove(requesterId, text, approverId), 'failed');
    },
    async waitForExpiry(request, timeoutMs = 10_000) {
      await bot.waitForDm(request.requesterId, 'has expired', timeoutMs);
      await slack.waitFor(
        (call) =>
          call.method === 'chat.postMessage' &&
          call.args.thread_ts !== undefined &&
          String(call.args.text).includes(`<@${request.requesterId}>`) &&
          String(call.args.text).includes('expired'),
        { description: `expiry notice for ${request.id} in the approval thread` },
      );
      return bot.waitForState(request.id, 'expired');
    },
    handled: () => eventually(() => inFlight.size === 0, 'the bot has handled every Slack request it received'),
    async waitForState(requestId, state, timeoutMs = 10_000) {
      let last: AccessRequest | undefined;
      return eventuallyValue(
        async () => {
          last = await container.store.get(requestId);
          return last?.state === state ? last : undefined;
        },
        `request ${requestId} is ${state}`,
        { timeoutMs, detail: () => `it is ${last?.state ?? 'missing'}` },
      );
    },
    waitForDm: (userId, fragment, timeoutMs) =>
      slack.waitFor(
        (call) =>
          call.method === 'chat.postMessage' &&
          call.args.channel === userId &&
          String(call.args.text ?? '').includes(fragment),
        { description: `DM to ${userId} containing "${fragment}"`, ...(timeoutMs !== undefined && { timeoutMs }) },
      ),
    async stop() {
      await container.stop();
      await slack.stop();
    },
  };
  return bot;
}

/** The view the bot opened or updated, as Slack would echo it back in a later payload. */
function viewRefOf(opened: RecordedCall): ViewRef {
  const view = (opened.args.view ?? {}) as { callback_id?: string; private_metadata?: string; type?: string };
  const answered = (opened.response as { view?: { id?: string } } | undefined)?.view;
  return {
    id: answered?.id ?? String(opened.args.view_id ?? 'V0UNKNOWN'),
    type: view.type === 'home' ? 'home' : 'modal',
    ...(view.callback_id !== undefined && { callbackId: view.callback_id }),
    ...(view.private_metadata !== undefined && { privateMetadata: view.private_metadata }),
  };
}
