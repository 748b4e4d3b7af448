import { slashCommandBody } from '../support/slack-payloads';
import { postSigned, signSlackRequest } from '../support/slack-signer';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

describe('/jit commands', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  /** Nothing was stored, scheduled or audited. */
  async function expectNothingChanged(userId: string) {
    expect(await bot.container.store.listByRequester(userId)).toEqual([]);
    expect(await bot.container.auditLog.read()).toEqual([]);
    // The reconciler's own periodic job is always there; nothing else may be.
    const { reconcile: _reconcile, ...requestQueues } = bot.container.queues;
    for (const queue of Object.values(requestQueues)) {
      const counts = await queue.getJobCounts();
      expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(0);
    }
  }

  it.each([
    [
      'request nope 1h reason',
      'There is no role "nope". Roles you may request: sandbox-admin, prod-db-read, staging-deployer, quick-timeout, broken.',
    ],
    ['request restricted 1h reason', 'You may not request "restricted". Roles you may request: sandbox-admin'],
    ['request sandbox-admin 2x reason', '"2x" is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d'],
    ['request sandbox-admin 0m reason', '"0m" is zero'],
    ['request sandbox-admin 5h reason', '5h is longer than sandbox-admin allows; ask for at most 4h.'],
    ['request sandbox-admin 9d reason', '9d is longer than sandbox-admin allows'],
    ['request prod-db-read 3h reason', 'ask for at most 2h'],
    [`request sandbox-admin 1h ${'x'.repeat(1001)}`, 'keep it under 1000'],
    ['cancel', 'Say which request: `/jit cancel <request ID>`'],
    ['cancel abcdefgh', 'There is no request with ID "abcdefgh". `/jit list` shows your open requests'],
    ['revoke abcdefgh', 'There is no request with ID "abcdefgh"'],
    ['status abcdefgh', 'There is no request with ID "abcdefgh"'],
    ['status abc def', '`/jit status` takes one request ID'],
    [
      'frobnicate <!channel>',
      '"frobnicate" is not a /jit command. Use one of: help, roles, list, request, cancel, revoke, status.',
    ],
    ['roles please', '`/jit roles` takes nothing after it.'],
  ])('/jit %s → a specific ephemeral error, nothing changed', async (text, expected) => {
    const reply = await bot.commandText('U0ALICE', text);
    expect(reply.startsWith(':no_entry:')).toBe(true);
    expect(reply).toContain(expected);
    await expectNothingChanged('U0ALICE');
  });

  it('a duration below the global minimum is refused', async () => {
    const strict = await startTestBot({
      policyYaml: TEST_POLICY.replace('minDuration: 1s', 'minDuration: 5m'),
      usergroups: USERGROUPS,
    });
    try {
      expect(await strict.commandText('U0ALICE', 'request sandbox-admin 30s reason')).toContain(
        '30s is shorter than the minimum; ask for at least 5m.',
      );
    } finally {
      await strict.stop();
    }
  });

  it('help for `/jit help`', async () => {
    for (const text of ['help', 'HELP']) {
      const reply = await bot.commandText('U0ALICE', text);
      expect(reply).toContain('`/jit request <role> <duration> <reason>`');
      expect(reply).toContain('`/jit revoke <id>`');
    }
  });

  it('roles lists only the roles this person may request, with limits', async () => {
    const alice = await bot.commandText('U0ALICE', 'roles');
    expect(alice).toContain(
      '*sandbox-admin* — Admin on the sandbox account (dryrun; up to 4h, default 1h; 1 approval)',
    );
    expect(alice).toContain(
      '*prod-db-read* — Read-only production database (dryrun; up to 2h, default 1h; 2 approvals)',
    );
    expect(alice).toContain('*staging-deployer*');
    expect(alice).toContain('auto-approved');
    expect(alice).not.toContain('restricted');
    expect(await bot.commandText('U0BOB', 'roles')).toContain('*restricted*');
  });

  it('list shows pending and active requests with time left; status shows one', async () => {
    expect(await bot.commandText('U0ALICE', 'list')).toContain('You have no pending or active requests');
    const pending = await bot.request('U0ALICE', 'prod-db-read 30m look at orders');
    const active = await bot.request('U0ALICE', 'staging-deployer 2h deploy');
    await bot.waitForState(active, 'active');
    const done = await bot.request('U0ALICE', 'sandbox-admin 1h to be cancelled');
    await bot.commandText('U0ALICE', `cancel ${done}`);

    const list = await bot.commandText('U0ALICE', 'list');
    expect(list).toContain(`\`${pending}\` *prod-db-read* — pending approval for 30m`);
    expect(list).toMatch(new RegExp(`\`${active}\` \\*staging-deployer\\* — active, 1h59m5\\ds left`));
    expect(list).not.toContain(done);

    const status = await bot.commandText('U0ALICE', `status ${pending.toUpperCase()}`);
    expect(status).toContain(`*Request \`${pending}\`*: <@U0ALICE> asked for *prod-db-read*`);
    expect(status).toContain('*Reason*: look at orders');
    expect(status).toContain('*State*: pending');
    expect(await bot.commandText('U0CAROL', `status ${pending}`)).toContain('*State*: pending');
    expect(await bot.commandText('U0MALLORY', `status ${pending}`)).toContain(
      `Only <@U0ALICE> and the approvers of prod-db-read can see ${pending}`,
    );
  });

  it('uses the role default duration when the second word is not a duration', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin checking the logs');
    const request = await bot.container.store.get(id);
    expect(request?.durationMs).toBe(3_600_000);
    expect(request?.reason).toBe('checking the logs');
  });

  it('escapes Block Kit and mentions in the reason', async () => {
    const id = await bot.request('U0ALICE', 'sandbox-admin 1h <!channel> see <https://evil.example|docs> & more');
    const posted = await bot.approvalMessage(id);
    const blocks = JSON.stringify(posted.args.blocks);
    expect(blocks).toContain('&lt;!channel&gt; see &lt;https://evil.example|docs&gt; &amp; more');
    expect(blocks).not.toContain('<!channel>');
  });
});

describe('request authenticity', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterAll(async () => {
    await bot.stop();
  });

  const body = () => slashCommandBody({ user_id: 'U0ALICE', text: 'request sandbox-admin 1h forged' });

  it('answers 401 to a bad signature, a stale or future timestamp, or another scheme; nothing is stored', async () => {
    const now = Math.floor(Date.now() / 1000);
    const attempts = [
      postSigned(bot.eventsUrl, body(), 'wrong-secret'),
      postSigned(bot.eventsUrl, body(), bot.signingSecret, { timestamp: now - 6 * 60 }),
      postSigned(bot.eventsUrl, body(), bot.signingSecret, { timestamp: now + 6 * 60 }),
      postSigned(bot.eventsUrl, body(), bot.signingSecret, {
        signature: signSlackRequest(bot.signingSecret, body(), now)['x-slack-signature'].replace('v0=', 'v1='),
        timestamp: now,
      }),
    ];
    expect((await Promise.all(attempts)).map((response) => response.status)).toEqual([401, 401, 401, 401]);
    expect(await bot.container.store.listByRequester('U0ALICE')).toEqual([]);
    expect(await bot.container.auditLog.read()).toEqual([]);
  });

  it('serves GET /healthz', async () => {
    const response = await fetch(`${bot.baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('never logs the bot token or the signing secret', async () => {
    await bot.request('U0ALICE', 'sandbox-admin 1h check logs');
    const all = bot.rawLogs.join('\n');
    expect(bot.rawLogs.length).toBeGreaterThan(0);
    expect(all).not.toContain('xoxb-test-token-0000');
    expect(all).not.toContain(bot.signingSecret);
  });
});
