import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { SlackPeopleDirectory } from '../../src/slack/people-directory';
import { RedisKeys } from '../../src/store/keys';
import { RedisUsergroupCache } from '../../src/store/usergroup-cache';
import { type FakeSlackApi, startFakeSlackApi } from '../support/fake-slack-api';
import { subteamMembersChangedBody } from '../support/slack-payloads';
import { postSigned } from '../support/slack-signer';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

describe('approver groups that change in Slack', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: TEST_POLICY, usergroups: USERGROUPS });
  });
  afterEach(async () => {
    await bot.stop();
  });

  it('stop letting someone removed from the group approve at once, not when the cache expires', async () => {
    const first = await bot.request('U0ALICE', 'sandbox-admin 1h first');
    const second = await bot.request('U0ALICE', 'sandbox-admin 1h second');
    await bot.approvalMessage(first);
    await bot.approvalMessage(second);
    // Carol approves through the on-call group: its members are now cached.
    await bot.click('U0CAROL', 'approve', first);
    await bot.waitForState(first, 'active');
    const lookups = bot.slack.calls('usergroups.users.list').length;

    bot.slack.setUsergroup('S0ONCALL', ['U0DAVE']);
    const answer = await postSigned(
      bot.eventsUrl,
      subteamMembersChangedBody('S0ONCALL', { removed: ['U0CAROL'] }),
      bot.signingSecret,
      { contentType: 'application/json' },
    );
    expect(answer.status).toBe(200);
    await bot.handled();

    await bot.click('U0CAROL', 'approve', second);
    await bot.waitForEphemeral('U0CAROL', 'You are not an approver of sandbox-admin');
    await bot.handled();
    expect((await bot.container.store.get(second))?.state).toBe('pending');
    // Slack was asked again instead of the cache answering.
    expect(bot.slack.calls('usergroups.users.list').length).toBeGreaterThan(lookups);
    expect(bot.logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          usergroupId: 'S0ONCALL',
          removed: 1,
          msg: 'user group members changed; its cached members are dropped',
        }),
      ]),
    );
  });

  it('refuse an unsigned event, so nobody can empty the cache from outside', async () => {
    const answer = await postSigned(bot.eventsUrl, subteamMembersChangedBody('S0ONCALL', {}), 'not-the-secret', {
      contentType: 'application/json',
    });
    expect(answer.status).toBe(401);
  });
});

/** The cache is shared through Redis: Slack tells one replica, every replica stops trusting the old members. */
describe('the user group cache shared by replicas', () => {
  let slack: FakeSlackApi;
  let redis: Redis;
  let keys: RedisKeys;
  beforeAll(async () => {
    slack = await startFakeSlackApi({ usergroups: { S0GROUP: ['U0ONE', 'U0TWO'] } });
    redis = new Redis(process.env.JIT_TEST_REDIS_URL ?? '');
  });
  beforeEach(() => {
    keys = new RedisKeys(`jit-test-${randomUUID().slice(0, 8)}`);
    slack.reset();
    slack.setUsergroup('S0GROUP', ['U0ONE', 'U0TWO']);
  });
  afterAll(async () => {
    await redis.quit();
    await slack.stop();
  });

  const replica = () =>
    new SlackPeopleDirectory(
      new WebClient('xoxb-test', { slackApiUrl: slack.url, retryConfig: { retries: 0 } }),
      { now: () => 1_000 },
      new RedisUsergroupCache(redis, keys),
    );

  it('asks Slack once for all replicas, and again everywhere after one replica forgets the group', async () => {
    const [a, b] = [replica(), replica()];
    expect(await a.usergroupMembers('S0GROUP')).toEqual(['U0ONE', 'U0TWO']);
    expect(await b.usergroupMembers('S0GROUP')).toEqual(['U0ONE', 'U0TWO']);
    expect(slack.calls('usergroups.users.list')).toHaveLength(1);

    slack.setUsergroup('S0GROUP', ['U0TWO']);
    await a.forgetUsergroup('S0GROUP');
    expect(await b.usergroupMembers('S0GROUP')).toEqual(['U0TWO']);
    expect(await a.usergroupMembers('S0GROUP')).toEqual(['U0TWO']);
    expect(slack.calls('usergroups.users.list')).toHaveLength(2);
  });

  it('never lets a lookup under way when the group changed put the old members back', async () => {
    const cache = new RedisUsergroupCache(redis, keys);
    const before = await cache.read('S0GROUP');
    await cache.forget('S0GROUP');
    // A fetch that began before the change finishes after it and writes what it read then.
    await cache.write('S0GROUP', before.generation, { members: ['U0ONE', 'U0TWO'], fetchedAt: 1_000 });
    expect((await cache.read('S0GROUP')).cached).toBeUndefined();
    expect(await replica().usergroupMembers('S0GROUP')).toEqual(['U0ONE', 'U0TWO']);
    expect(slack.calls('usergroups.users.list')).toHaveLength(1);
  });
});
