/**
 * Red team (issue 5): every payload is hostile. Each attack goes through the real Bolt app (HTTP receiver,
 * signature check, listeners, BullMQ workers, Redis store) and must be refused AND change nothing: no state
 * change, no grant, no audit transition, no grant or revoke job. The module-level tally is printed at the end.
 */
import type { JobType } from 'bullmq';
import { ACTION_IDS } from '../../src/slack/ids';
import { eventually } from '../support/eventually';
import {
  type BlockActionsInput,
  blockActionsBody,
  blockActionsPayload,
  slashCommandBody,
  subteamMembersChangedBody,
} from '../support/slack-payloads';
import { postSigned, type SignedPostResult, signSlackRequest } from '../support/slack-signer';
import { APPROVAL_CHANNEL, startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY } from './test-policy';

// ---------------------------------------------------------------------------------------------------------------
// Tally
// ---------------------------------------------------------------------------------------------------------------

const tally = { tried: 0, refused: 0 };

/** Runs one attack; it counts as refused only if every assertion in `run` held. */
async function attack(name: string, run: () => Promise<void>): Promise<void> {
  tally.tried += 1;
  try {
    await run();
  } catch (error) {
    throw new Error(`attack "${name}" was not refused: ${(error as Error).message}`, { cause: error });
  }
  tally.refused += 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Policy and helpers
// ---------------------------------------------------------------------------------------------------------------

/** The test policy, serving only T0TEAM, with a role approved by every kind of account. */
const POLICY = `${TEST_POLICY.replace(
  'settings:\n',
  'settings:\n  allowedTeams: [T0TEAM]\n  maxOpenRequestsPerPerson: 1000\n',
)}  - id: red-team
    description: Approved by every kind of account
    provider: dryrun
    maxDuration: 4h
    approvalChannel: C0APPROVALS
    approvers:
      users: [U0LEAD, U0SEC, U0GUEST, U0ULTRA, U0GONE, U0GHOST]
      usergroups: [S0ONCALL, S0FORMER]
`;
const USERGROUPS = { S0ONCALL: ['U0CAROL', 'U0DAVE'], S0FORMER: ['U0EX'] };
const ROLE = 'red-team';
const FORM = 'application/x-www-form-urlencoded';
const JOB_STATES: JobType[] = [
  'active',
  'completed',
  'delayed',
  'failed',
  'prioritized',
  'waiting',
  'waiting-children',
];
/** Whose requests the snapshot lists (so "nothing stored" covers attackers and victims alike). */
const PEOPLE = ['U0ALICE', 'U0MALLORY', 'U0LEAD', 'U0CAROL', 'U0EX', 'U0GUEST'];

interface ApprovalRef {
  id: string;
  channel: string;
  ts: string;
}

/** Files a request and waits until its approval message is posted and stored (clicks need its channel and ts). */
async function pendingRequest(bot: TestBot, requester = 'U0ALICE', text = `${ROLE} 1h red team`): Promise<ApprovalRef> {
  const id = await bot.request(requester, text);
  await bot.approvalMessage(id);
  await bot.waitForState(id, 'pending');
  return { id, ...(await bot.storedApprovalMessage(id)) };
}

/** A click body on the stored approval message `ref` (overridable, for stale and foreign clicks). */
function clickBody(
  bot: TestBot,
  userId: string,
  action: 'approve' | 'deny',
  ref: ApprovalRef,
  overrides: Partial<BlockActionsInput> = {},
): string {
  return blockActionsBody({
    userId,
    actionId: ACTION_IDS[action],
    value: ref.id,
    channelId: ref.channel,
    messageTs: ref.ts,
    responseUrl: bot.slack.responseUrl(),
    ...overrides,
  });
}

function sendClick(
  bot: TestBot,
  userId: string,
  action: 'approve' | 'deny',
  ref: ApprovalRef,
  overrides: Partial<BlockActionsInput> = {},
): Promise<SignedPostResult> {
  return postSigned(bot.eventsUrl, clickBody(bot, userId, action, ref, overrides), bot.signingSecret);
}

function commandBody(bot: TestBot, userId: string, text: string, teamId?: string, enterpriseId?: string): string {
  return slashCommandBody({
    user_id: userId,
    text,
    response_url: bot.slack.responseUrl(),
    ...(teamId !== undefined && { team_id: teamId }),
    ...(enterpriseId !== undefined && { enterprise_id: enterpriseId }),
  });
}

/** POSTs exactly these bytes with exactly these headers (no signing of our own). */
async function postRaw(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });
  await response.text();
  return response.status;
}

const ephemeralsTo = (bot: TestBot, userId: string) =>
  bot.slack.calls('chat.postEphemeral').filter((call) => call.args.user === userId);

/**
 * Runs `act` (one click or command by `userId`), expects HTTP 200 and waits for the next ephemeral the bot sends
 * that person; returns its text.
 */
async function nextEphemeral(bot: TestBot, userId: string, act: () => Promise<SignedPostResult>): Promise<string> {
  const before = ephemeralsTo(bot, userId).length;
  const response = await act();
  expect(response.status).toBe(200);
  const calls = await bot.slack.waitForCount(
    (call) => call.method === 'chat.postEphemeral' && call.args.user === userId,
    before + 1,
    { description: `ephemeral #${before + 1} to ${userId}` },
  );
  return String(calls[before]?.args.text);
}

/** Everything an attack could change: requests, audit transitions, grants, grant and revoke jobs. */
async function snapshot(bot: TestBot, ids: readonly string[]) {
  const { store, auditLog, dryrun, queues } = bot.container;
  const jobIds = async (queue: typeof queues.grant) =>
    (await queue.getJobs(JOB_STATES)).map((job) => job.id ?? '?').sort();
  return {
    requests: await Promise.all(
      ids.map(async (id) => {
        const request = await store.get(id);
        return (
          request && {
            state: request.state,
            version: request.version,
            approvals: request.approvals.map((approval) => approval.userId),
            decidedBy: request.decidedBy,
          }
        );
      }),
    ),
    stored: await Promise.all(
      PEOPLE.map(async (person) => (await store.listByRequester(person)).map((request) => request.id).sort()),
    ),
    transitions: (await auditLog.read()).map((event) => `${event.requestId} ${event.from}>${event.to} ${event.actor}`),
    grants: (await dryrun.grants()).map((grant) => `${grant.requestId} ${grant.roleId} ${grant.principal}`).sort(),
    grantJobs: await jobIds(queues.grant),
    revokeJobs: await jobIds(queues.revoke),
  };
}

/** Takes a snapshot, runs the attack, and checks that nothing an attack could change has changed. */
async function expectNoChange(bot: TestBot, ids: readonly string[], run: () => Promise<void>): Promise<void> {
  const before = await snapshot(bot, ids);
  await run();
  expect(await snapshot(bot, ids)).toEqual(before);
}

const refusalCount = async (bot: TestBot) => (await bot.container.auditLog.notes({ kind: 'refusal' })).length;

/** A click refused with an ephemeral containing `fragment`, audited, and nothing changed. */
async function expectRefusedClick(
  bot: TestBot,
  userId: string,
  action: 'approve' | 'deny',
  ref: ApprovalRef,
  fragment: string,
  overrides: Partial<BlockActionsInput> = {},
  otherIds: readonly string[] = [],
): Promise<void> {
  await expectNoChange(bot, [ref.id, ...otherIds], async () => {
    const audited = await refusalCount(bot);
    const text = await nextEphemeral(bot, userId, () => sendClick(bot, userId, action, ref, overrides));
    expect(text).toContain(fragment);
    expect(await refusalCount(bot)).toBe(audited + 1);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Forged signatures
// ---------------------------------------------------------------------------------------------------------------

interface Forgery {
  name: string;
  /** Sends `body` forged this way; `altered` is a different body (for "altered after signing"). */
  send(bot: TestBot, body: string, altered: string): Promise<number>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

const FORGERIES: Forgery[] = [
  {
    name: 'bad HMAC (one hex digit flipped)',
    send(bot, body) {
      const good = signSlackRequest(bot.signingSecret, body);
      const sig = good['x-slack-signature'];
      const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
      return postRaw(bot.eventsUrl, body, { ...good, 'x-slack-signature': flipped });
    },
  },
  {
    name: 'signed with the wrong secret',
    send: (bot, body) => postSigned(bot.eventsUrl, body, `${bot.signingSecret}x`).then((r) => r.status),
  },
  {
    name: 'scheme v1= with the right HMAC',
    send(bot, body) {
      const good = signSlackRequest(bot.signingSecret, body);
      return postRaw(bot.eventsUrl, body, {
        ...good,
        'x-slack-signature': good['x-slack-signature'].replace(/^v0=/, 'v1='),
      });
    },
  },
  { name: 'no signature headers at all', send: (bot, body) => postRaw(bot.eventsUrl, body, {}) },
  {
    name: 'timestamp header missing',
    send(bot, body) {
      const good = signSlackRequest(bot.signingSecret, body);
      return postRaw(bot.eventsUrl, body, { 'x-slack-signature': good['x-slack-signature'] });
    },
  },
  {
    name: 'signature header missing',
    send(bot, body) {
      const good = signSlackRequest(bot.signingSecret, body);
      return postRaw(bot.eventsUrl, body, { 'x-slack-request-timestamp': good['x-slack-request-timestamp'] });
    },
  },
  {
    name: 'stale timestamp (6 min old, correctly signed)',
    send: (bot, body) =>
      postSigned(bot.eventsUrl, body, bot.signingSecret, { timestamp: nowSeconds() - 6 * 60 }).then((r) => r.status),
  },
  {
    name: 'future timestamp (6 min ahead, correctly signed)',
    send: (bot, body) =>
      postSigned(bot.eventsUrl, body, bot.signingSecret, { timestamp: nowSeconds() + 6 * 60 }).then((r) => r.status),
  },
  {
    name: 'body altered after signing',
    send(bot, body, altered) {
      expect(altered).not.toBe(body);
      return postRaw(bot.eventsUrl, altered, { ...signSlackRequest(bot.signingSecret, body) });
    },
  },
];

describe('red team: forged signatures', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterAll(async () => {
    await bot.stop();
  });

  it.each(FORGERIES.map((forgery) => [forgery.name, forgery] as const))(
    'slash command, %s → 401, nothing stored or audited',
    async (name, forgery) => {
      await attack(`/jit request, ${name}`, async () => {
        await expectNoChange(bot, [], async () => {
          const notes = (await bot.container.auditLog.notes()).length;
          const body = commandBody(bot, 'U0MALLORY', `request ${ROLE} 1h forged`);
          const altered = body.replace('1h+forged', '4h+forged');
          expect(await forgery.send(bot, body, altered)).toBe(401);
          expect((await bot.container.auditLog.notes()).length).toBe(notes);
          expect(bot.slack.calls('response_url')).toEqual([]);
        });
      });
    },
  );

  it.each(FORGERIES.map((forgery) => [forgery.name, forgery] as const))(
    'Approve by a real approver, %s → 401, request still pending',
    async (name, forgery) => {
      const ref = await pendingRequest(bot);
      await attack(`Approve click, ${name}`, async () => {
        await expectNoChange(bot, [ref.id], async () => {
          const ephemerals = bot.slack.calls('chat.postEphemeral').length;
          // A click by a real approver, so the request would be approved if the forgery got through. For
          // "altered after signing", Mallory (no approver) signs her own click and sends the approver's instead.
          const approverClick = clickBody(bot, 'U0LEAD', 'approve', ref);
          const malloryClick = clickBody(bot, 'U0MALLORY', 'approve', ref);
          const status =
            name === 'body altered after signing'
              ? await forgery.send(bot, malloryClick, approverClick)
              : await forgery.send(bot, approverClick, malloryClick);
          expect(status).toBe(401);
          expect(bot.slack.calls('chat.postEphemeral').length).toBe(ephemerals);
        });
        expect((await bot.container.store.get(ref.id))?.state).toBe('pending');
      });
    },
  );

  it('control: the same click correctly signed is honoured (so the forgeries above were meaningful)', async () => {
    const ref = await pendingRequest(bot);
    expect((await postSigned(bot.eventsUrl, clickBody(bot, 'U0LEAD', 'approve', ref), bot.signingSecret)).status).toBe(
      200,
    );
    await bot.waitForState(ref.id, 'active');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Who may decide
// ---------------------------------------------------------------------------------------------------------------

describe('red team: who may decide', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterAll(async () => {
    await bot.stop();
  });

  it('an approver removed from the user group after the message was posted', async () => {
    const ref = await pendingRequest(bot);
    // Slack tells the bot the group changed; whatever it had cached for the group (refreshing approvers' App Homes
    // may have fetched it) is dropped, and the click is judged on the group as it is now, not as it was when the
    // message was posted.
    bot.slack.setUsergroup('S0FORMER', []);
    const told = await postSigned(
      bot.eventsUrl,
      subteamMembersChangedBody('S0FORMER', { removed: ['U0EX'] }),
      bot.signingSecret,
      { contentType: 'application/json' },
    );
    expect(told.status).toBe(200);
    await bot.handled();
    await attack('approver removed from the user group', () =>
      expectRefusedClick(bot, 'U0EX', 'approve', ref, `You are not an approver of ${ROLE}`),
    );
  });

  it('self-approval: the requester (an approver of the role) clicks Approve and Deny', async () => {
    const ref = await pendingRequest(bot, 'U0LEAD');
    await attack('self-approval by button', () =>
      expectRefusedClick(bot, 'U0LEAD', 'approve', ref, `You asked for ${ref.id}, so you cannot approve it`),
    );
    await attack('self-denial by button', () =>
      expectRefusedClick(bot, 'U0LEAD', 'deny', ref, `You asked for ${ref.id}; withdraw it`),
    );
    await attack('self-approval by command (/jit approve <id>)', () =>
      expectNoChange(bot, [ref.id], async () => {
        expect(await bot.commandText('U0LEAD', `approve ${ref.id}`)).toContain('"approve" is not a /jit command');
      }),
    );
    const refusals = await bot.container.auditLog.notes({ requestId: ref.id, kind: 'refusal' });
    expect(refusals.map((note) => [note.actor, note.reason.split(':')[0]])).toEqual([
      ['U0LEAD', 'jit_approve refused (self_approval)'],
      ['U0LEAD', 'jit_deny refused (self_approval)'],
    ]);
  });

  it('self-approval by a requester who approves through a user group', async () => {
    const ref = await pendingRequest(bot, 'U0CAROL');
    await attack('self-approval via user-group membership', () =>
      expectRefusedClick(bot, 'U0CAROL', 'approve', ref, 'so you cannot approve it'),
    );
  });

  it('someone who is not an approver clicks Approve and Deny', async () => {
    const ref = await pendingRequest(bot);
    await attack('non-approver approves', () =>
      expectRefusedClick(bot, 'U0MALLORY', 'approve', ref, `You are not an approver of ${ROLE}`),
    );
    await attack('non-approver denies', () =>
      expectRefusedClick(bot, 'U0MALLORY', 'deny', ref, `so you cannot deny ${ref.id}`),
    );
  });

  it.each([
    ['a guest (is_restricted)', 'U0GUEST', { is_restricted: true }, 'is a guest account'],
    ['an ultra-restricted guest', 'U0ULTRA', { is_ultra_restricted: true }, 'is a guest account'],
    ['a deactivated account', 'U0GONE', { deleted: true }, 'is deactivated'],
    ['an account Slack does not know', 'U0GHOST', null, 'is unknown to Slack'],
  ] as const)('an approver listed by ID who is %s', async (name, userId, user, fragment) => {
    bot.slack.setUser(userId, user === null ? null : { ...user });
    const ref = await pendingRequest(bot);
    await attack(`approver who is ${name}`, () => expectRefusedClick(bot, userId, 'approve', ref, fragment));
  });

  it('a foreign team: click and command from outside settings.allowedTeams', async () => {
    const ref = await pendingRequest(bot);
    await attack('Approve from a foreign team', () =>
      expectRefusedClick(bot, 'U0LEAD', 'approve', ref, 'you cannot approve from T0OTHER', { teamId: 'T0OTHER' }),
    );
    await attack('Deny from a foreign team', () =>
      expectRefusedClick(bot, 'U0LEAD', 'deny', ref, 'you cannot deny from T0OTHER', { teamId: 'T0OTHER' }),
    );
    for (const [name, enterprise] of [
      ['/jit request from a foreign team', undefined],
      ['/jit request from a foreign team and enterprise', 'E0EVIL'],
    ] as const) {
      await attack(name, () =>
        expectNoChange(bot, [ref.id], async () => {
          const response = await postSigned(
            bot.eventsUrl,
            commandBody(bot, 'U0MALLORY', `request ${ROLE} 1h from elsewhere`, 'T0OTHER', enterprise),
            bot.signingSecret,
          );
          expect(response.status).toBe(200);
          expect(response.json).toEqual(
            expect.objectContaining({
              response_type: 'ephemeral',
              text: expect.stringContaining('This bot serves only its own workspace'),
            }),
          );
        }),
      );
    }
    expect((await bot.container.store.get(ref.id))?.state).toBe('pending');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Stale, finished and malformed clicks
// ---------------------------------------------------------------------------------------------------------------

describe('red team: stale, finished and malformed clicks', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterAll(async () => {
    await bot.stop();
  });

  it('clicks that do not come from the stored approval message', async () => {
    const ref = await pendingRequest(bot);
    const other = await pendingRequest(bot);
    const stale = 'is not on the approval message';
    await attack('Approve with a wrong message_ts', () =>
      expectRefusedClick(bot, 'U0LEAD', 'approve', ref, stale, { messageTs: '1600000000.000001' }),
    );
    await attack('Approve with a wrong channel', () =>
      expectRefusedClick(bot, 'U0LEAD', 'approve', ref, stale, { channelId: 'C0ELSEWHERE' }),
    );
    await attack('Deny with a wrong message_ts', () =>
      expectRefusedClick(bot, 'U0LEAD', 'deny', ref, stale, { messageTs: '1600000000.000002' }),
    );
    // A correctly signed click that names no message at all (no container, no message).
    await attack('Approve naming no message', () =>
      expectNoChange(bot, [ref.id], async () => {
        const audited = await refusalCount(bot);
        const payload = blockActionsPayload({
          userId: 'U0LEAD',
          actionId: ACTION_IDS.approve,
          value: ref.id,
          channelId: ref.channel,
        });
        delete payload.container;
        delete payload.message;
        const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
        const text = await nextEphemeral(bot, 'U0LEAD', () => postSigned(bot.eventsUrl, body, bot.signingSecret));
        expect(text).toContain(stale);
        expect(await refusalCount(bot)).toBe(audited + 1);
      }),
    );
    // The button value swapped for another pending request's ID, clicked on this request's message.
    await attack("Approve of request B clicked on request A's message", () =>
      expectRefusedClick(
        bot,
        'U0LEAD',
        'approve',
        other,
        `${stale} of ${other.id}`,
        {
          channelId: ref.channel,
          messageTs: ref.ts,
        },
        [ref.id],
      ),
    );
  });

  it('clicks on a request that is no longer pending', async () => {
    const denied = await pendingRequest(bot);
    await bot.click('U0LEAD', 'deny', denied.id);
    await bot.waitForState(denied.id, 'denied');
    await attack('Approve a denied request', () =>
      expectRefusedClick(bot, 'U0CAROL', 'approve', denied, 'is already denied'),
    );
    await attack('Deny a denied request again', () =>
      expectRefusedClick(bot, 'U0CAROL', 'deny', denied, 'is already denied'),
    );

    const cancelled = await pendingRequest(bot);
    expect(await bot.commandText('U0ALICE', `cancel ${cancelled.id}`)).toContain('is cancelled');
    await bot.waitForState(cancelled.id, 'cancelled');
    await attack('Approve a cancelled request', () =>
      expectRefusedClick(bot, 'U0LEAD', 'approve', cancelled, 'is already cancelled'),
    );

    const active = await pendingRequest(bot);
    await bot.click('U0LEAD', 'approve', active.id);
    await bot.waitForState(active.id, 'active');
    await bot.waitForDm('U0ALICE', 'is active until');
    await attack('Approve an already active request again', () =>
      expectRefusedClick(bot, 'U0SEC', 'approve', active, 'is already active'),
    );
  });

  it.each([
    ['a path (../../x)', '../../x'],
    ['a 10 KB string', 'a'.repeat(10 * 1024)],
    ['empty', ''],
    ['the request ID in upper case', 'UPPERCASE'],
    ['a JSON object', '{"requestId":"abc"}'],
  ])('a button value that is not a request ID: %s → HTTP 200, no crash, nothing changes', async (name, value) => {
    const ref = await pendingRequest(bot);
    const refusedValue = () => bot.logs.filter((line) => line.msg === 'refused: button value is not a request ID');
    await attack(`button value ${name}`, () =>
      expectNoChange(bot, [ref.id], async () => {
        const before = refusedValue().length;
        const ephemerals = bot.slack.calls('chat.postEphemeral').length;
        const clickValue = value === 'UPPERCASE' ? ref.id.toUpperCase() : value;
        const response = await sendClick(bot, 'U0LEAD', 'approve', ref, { value: clickValue });
        expect(response.status).toBe(200);
        await eventually(() => refusedValue().length === before + 1, 'the refusal of the button value is logged');
        expect(bot.slack.calls('chat.postEphemeral').length).toBe(ephemerals);
        expect(bot.logs.filter((line) => line.msg === 'unexpected error handling a Slack interaction')).toEqual([]);
      }),
    );
    // The bot still works: the real button on the same message is honoured.
    await bot.click('U0LEAD', 'approve', ref.id);
    await bot.waitForState(ref.id, 'active');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Replays and races
// ---------------------------------------------------------------------------------------------------------------

describe('red team: replays and races', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterAll(async () => {
    await bot.stop();
  });

  async function expectGrantedOnce(id: string, transitions: string[]) {
    const audit = await bot.container.auditLog.read({ requestId: id });
    expect(audit.map((event) => `${event.from}>${event.to}`)).toEqual(transitions);
    expect((await bot.container.dryrun.grants()).filter((grant) => grant.requestId === id)).toHaveLength(1);
    const grantJobs = await bot.container.queues.grant.getJobs(JOB_STATES);
    expect(grantJobs.map((job) => job.id).filter((jobId) => jobId?.includes(id))).toEqual([`grant-${id}`]);
    const revokeJobs = await bot.container.queues.revoke.getJobs(JOB_STATES);
    expect(revokeJobs.map((job) => job.id).filter((jobId) => jobId?.includes(id))).toEqual([`revoke-${id}`]);
  }

  it('a byte-identical Approve replayed concurrently and afterwards → one approval, one grant, one revoke job', async () => {
    const ref = await pendingRequest(bot);
    const body = clickBody(bot, 'U0LEAD', 'approve', ref);
    const headers = signSlackRequest(bot.signingSecret, body);
    const send = () => postRaw(bot.eventsUrl, body, { ...headers });
    const refusedReplay = (count: number) =>
      bot.slack.waitForCount(
        (call) =>
          call.method === 'chat.postEphemeral' &&
          call.args.user === 'U0LEAD' &&
          new RegExp(`Request ${ref.id} is already (approved|active)`).test(String(call.args.text)),
        count,
        { description: `${count} refused replays` },
      );

    await attack('byte-identical Approve replayed 5 times concurrently with the original', async () => {
      expect(await Promise.all(Array.from({ length: 6 }, send))).toEqual([200, 200, 200, 200, 200, 200]);
      await bot.waitForState(ref.id, 'active');
      await bot.waitForDm('U0ALICE', 'is active until');
      await refusedReplay(5);
      await expectGrantedOnce(ref.id, ['none>pending', 'pending>approved', 'approved>active']);
    });
    await attack('byte-identical Approve replayed 3 times after the grant', () =>
      expectNoChange(bot, [ref.id], async () => {
        for (let i = 0; i < 3; i += 1) expect(await send()).toBe(200);
        await refusedReplay(8);
      }),
    );
    await expectGrantedOnce(ref.id, ['none>pending', 'pending>approved', 'approved>active']);
  });

  it('40 concurrent Approve clicks by four approvers → exactly one approval, one grant, one revoke job', async () => {
    const ref = await pendingRequest(bot);
    const clickers = ['U0LEAD', 'U0SEC', 'U0CAROL', 'U0DAVE'];
    await attack('40 racing approvals (1 approval needed)', async () => {
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => sendClick(bot, clickers[i % clickers.length] ?? 'U0LEAD', 'approve', ref)),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(40).fill(200));
      const approved = await bot.waitForState(ref.id, 'active');
      expect(approved.approvals).toHaveLength(1);
      await bot.waitForDm('U0ALICE', 'is active until');
      await expectGrantedOnce(ref.id, ['none>pending', 'pending>approved', 'approved>active']);
      // Every losing click was refused and told why.
      const losers = await bot.slack.waitForCount(
        (call) => call.method === 'chat.postEphemeral' && String(call.args.text).includes(ref.id),
        39,
        { description: '39 refused racing clicks' },
      );
      expect(losers.filter((call) => /is already (approved|active)/.test(String(call.args.text)))).toHaveLength(39);
    });
  });

  it('40 concurrent Approve clicks on a role that needs two → two distinct approvals, one grant', async () => {
    const ref = await pendingRequest(bot, 'U0ALICE', 'prod-db-read 1h race for two');
    const clickers = ['U0LEAD', 'U0SEC', 'U0CAROL', 'U0DAVE'];
    await attack('40 racing approvals (2 approvals needed)', async () => {
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => sendClick(bot, clickers[i % clickers.length] ?? 'U0LEAD', 'approve', ref)),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(40).fill(200));
      const active = await bot.waitForState(ref.id, 'active');
      const approvers = active.approvals.map((approval) => approval.userId);
      expect(approvers).toHaveLength(2);
      expect(new Set(approvers).size).toBe(2);
      await bot.waitForDm('U0ALICE', 'is active until');
      await expectGrantedOnce(ref.id, ['none>pending', 'pending>pending', 'pending>approved', 'approved>active']);
      await bot.slack.waitForCount(
        (call) => call.method === 'chat.postEphemeral' && String(call.args.text).includes(ref.id),
        38,
        { description: '38 refused racing clicks' },
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------------------------

describe('red team: hostile input', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: USERGROUPS });
  });
  afterAll(async () => {
    await bot.stop();
  });

  /** Every text the bot sent to Slack about this request (messages, updates, ephemerals, response URLs). */
  const textsAbout = (id: string) =>
    bot.slack
      .calls()
      .map((call) => JSON.stringify(call.args))
      .filter((args) => args.includes(id));

  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here>', '&lt;!here&gt;'],
    ['<!everyone>', '&lt;!everyone&gt;'],
    ['<!subteam^S0ONCALL>', '&lt;!subteam^S0ONCALL&gt;'],
    ['<@U0LEAD>', '&lt;@U0LEAD&gt;'],
    ['<#C0SECRET>', '&lt;#C0SECRET&gt;'],
    ['<https://evil.example|click>', '&lt;https://evil.example|click&gt;'],
    ['ok\n:white_check_mark: *Approved by <@U0LEAD>*', '\\n>:white_check_mark: *Approved by &lt;@U0LEAD&gt;*'],
  ])('Block Kit / mention injection in a reason: %j is escaped everywhere', async (payload, escaped) => {
    await attack(`reason injection ${JSON.stringify(payload)}`, async () => {
      const id = await bot.request('U0ALICE', `${ROLE} 1h please ${payload} thanks`);
      const posted = await bot.approvalMessage(id);
      const raw = payload.includes('\n') ? '<@U0LEAD>' : payload;
      const blocks = JSON.stringify(posted.args.blocks);
      expect(blocks).toContain(escaped);
      expect(blocks).not.toContain(raw);
      expect(String(posted.args.text)).not.toContain(raw);
      const status = await bot.commandText('U0ALICE', `status ${id}`);
      expect(status).not.toContain(raw);
      expect(status).toContain('&lt;');
      for (const sent of textsAbout(id)) expect(sent).not.toContain(JSON.stringify(raw).slice(1, -1));
    });
  });

  it('*bold* in a reason is left as mrkdwn (not an attack, a control)', async () => {
    const id = await bot.request('U0ALICE', `${ROLE} 1h *bold* fix`);
    const posted = await bot.approvalMessage(id);
    expect(JSON.stringify(posted.args.blocks)).toContain('>*bold* fix');
  });

  it.each([
    ['a 50 KB /jit text', 'x'.repeat(50 * 1024), 'is not a /jit command'],
    ['a 50 KB reason', `request ${ROLE} 1h ${'y'.repeat(50 * 1024)}`, 'keep it under 1000'],
    ['a reason one over the limit', `request ${ROLE} 1h ${'z'.repeat(1001)}`, 'The reason is 1001 characters long'],
    ['a 4 KB role name', `request ${'r'.repeat(4 * 1024)} 1h reason`, 'That is not a role name'],
    ['a 4 KB duration', `request ${ROLE} ${'9'.repeat(4 * 1024)}h reason`, 'That is not a duration'],
  ])('oversized input: %s → HTTP 200, a specific ephemeral error, nothing stored', async (name, text, fragment) => {
    await attack(`oversized input: ${name}`, () =>
      expectNoChange(bot, [], async () => {
        const response = await postSigned(bot.eventsUrl, commandBody(bot, 'U0MALLORY', text), bot.signingSecret);
        expect(response.status).toBe(200);
        const json = response.json as { response_type?: string; text?: string };
        expect(json.response_type).toBe('ephemeral');
        expect(json.text?.startsWith(':no_entry:')).toBe(true);
        expect(json.text).toContain(fragment);
        expect(bot.slack.calls('response_url')).toEqual([]);
      }),
    );
  });

  it('the approval channel saw no raw injection at all', () => {
    const all = bot.slack
      .calls()
      .filter((call) => call.args.channel === APPROVAL_CHANNEL)
      .map((call) => JSON.stringify(call.args));
    expect(all.length).toBeGreaterThan(0);
    for (const sent of all) {
      expect(sent).not.toMatch(/<!(channel|here|everyone|subteam)/);
      expect(sent).not.toContain('<https://evil.example');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Verdict
// ---------------------------------------------------------------------------------------------------------------

describe('red team: verdict', () => {
  // The count is in the verdict's name on failure; a green run prints tests, not tallies.
  it('every attack tried was refused', () => {
    expect(tally.tried).toBeGreaterThanOrEqual(40);
    expect(tally.refused).toBe(tally.tried);
  });
});
