import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { ErrorCode, WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import { type FakeSlackApi, FILE_UPLOAD, startFakeSlackApi } from '../support/fake-slack-api';
import { freePort } from '../support/free-port';
import { startRedisServer } from '../support/redis-server';
import { blockActionsBody, slashCommandBody } from '../support/slack-payloads';
import { postSigned, signSlackRequest } from '../support/slack-signer';

jest.setTimeout(30_000);

describe('fake Slack API', () => {
  let fake: FakeSlackApi;
  let client: WebClient;

  beforeEach(async () => {
    fake = await startFakeSlackApi({ usergroups: { S0APPROVERS: ['U0BOB', 'U0CAROL'] } });
    client = new WebClient('xoxb-test-token', {
      slackApiUrl: fake.url,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
  });

  afterEach(async () => {
    await fake.stop();
  });

  it('serves /api/ URLs with a trailing slash', () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it('answers auth.test and records the bearer token', async () => {
    const res = await client.auth.test();
    expect(res).toMatchObject({ ok: true, user_id: 'U0BOT', bot_id: 'B0BOT', team_id: 'T0TEAM' });
    expect(fake.calls('auth.test')).toHaveLength(1);
    expect(fake.calls('auth.test')[0]?.token).toBe('xoxb-test-token');
  });

  it('records chat.postMessage with blocks decoded to an array', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hello*' } }];
    const first = await client.chat.postMessage({ channel: 'C0GENERAL', text: 'hello', blocks });
    const second = await client.chat.postMessage({ channel: 'U0ALICE', text: 'dm' });
    expect(first.ok).toBe(true);
    expect(first.channel).toBe('C0GENERAL');
    expect(first.ts).toBe('1700000000.000100');
    expect(second.channel).toBe('D0ALICE');
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));

    const call = await fake.waitFor((c) => c.method === 'chat.postMessage' && c.args.text === 'hello');
    expect(Array.isArray(call.args.blocks)).toBe(true);
    expect(call.args.blocks).toEqual(blocks);
    expect(call.args.channel).toBe('C0GENERAL');
  });

  it('answers usergroups.users.list from the configured map', async () => {
    const res = await client.usergroups.users.list({ usergroup: 'S0APPROVERS' });
    expect(res.users).toEqual(['U0BOB', 'U0CAROL']);
    fake.setUsergroup('S0EMPTY', []);
    expect((await client.usergroups.users.list({ usergroup: 'S0EMPTY' })).users).toEqual([]);
    await expect(client.usergroups.users.list({ usergroup: 'S0NOPE' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'no_such_subteam' },
    });
  });

  it('answers users.info with overridable users', async () => {
    fake.setUser('U0BOB', { profile: { email: 'bob@corp.example' }, is_restricted: true });
    const bob = await client.users.info({ user: 'U0BOB' });
    expect(bob.user).toMatchObject({ id: 'U0BOB', deleted: false, is_restricted: true });
    expect(bob.user?.profile?.email).toBe('bob@corp.example');
    const eve = await client.users.info({ user: 'U0EVE' });
    expect(eve.user?.profile?.email).toBe('u0eve@example.com');
  });

  it('makes the client throw on an injected 429, then recovers', async () => {
    fake.failNext('chat.postMessage', { status: 429, headers: { 'Retry-After': '7' } });
    await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: 7,
    });
    await expect(client.chat.postMessage({ channel: 'C0GENERAL', text: 'y' })).resolves.toMatchObject({ ok: true });
    expect(fake.calls('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
  });

  it('injects platform errors with the string shorthand', async () => {
    fake.failNext('chat.update', 'channel_not_found');
    await expect(client.chat.update({ channel: 'C0X', ts: '1.2', text: 'z' })).rejects.toMatchObject({
      data: { ok: false, error: 'channel_not_found' },
    });
  });

  it('parses application/json bodies and records response_url posts', async () => {
    const res = await fetch(`${fake.url}views.publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-json' },
      body: JSON.stringify({ user_id: 'U0ALICE', view: { type: 'home', blocks: [] } }),
    });
    expect(await res.json()).toMatchObject({ ok: true, view: { id: expect.stringMatching(/^V/) } });
    expect(fake.calls('views.publish')[0]).toMatchObject({ token: 'xoxb-json', args: { view: { type: 'home' } } });

    await fetch(fake.responseUrl('cmd1'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', text: 'ok' }),
    });
    const posted = await fake.waitFor('response_url');
    expect(posted).toMatchObject({ path: '/response/cmd1', args: { text: 'ok' } });
  });

  it('waitFor resolves on a later call and waitForCount counts', async () => {
    const pending = fake.waitFor((c) => c.method === 'chat.postEphemeral');
    const pendingTwo = fake.waitForCount('conversations.open', 2);
    await client.chat.postEphemeral({ channel: 'C0GENERAL', user: 'U0ALICE', text: 'psst' });
    await client.conversations.open({ users: 'U0BOB' });
    await client.conversations.open({ users: 'U0CAROL' });
    await expect(pending).resolves.toMatchObject({ args: { user: 'U0ALICE' } });
    const opened = await pendingTwo;
    expect(opened.map((c) => (c.response as { channel: { id: string } }).channel.id)).toEqual(['D0BOB', 'D0CAROL']);
  });

  it('waitFor rejects with a message listing the recorded calls', async () => {
    await client.chat.postMessage({ channel: 'C0GENERAL', text: 'something else' });
    await expect(
      fake.waitFor('chat.delete', { timeoutMs: 100, description: 'the request message to be deleted' }),
    ).rejects.toThrow(/the request message to be deleted[\s\S]*#1 chat\.postMessage .*text="something else"/);
  });

  it('answers unknown methods with ok:true and apps.connections.open with not_allowed', async () => {
    await expect(
      client.apiCall('reactions.add', { channel: 'C0GENERAL', name: 'eyes', timestamp: '1.2' }),
    ).resolves.toMatchObject({ ok: true });
    await expect(client.apps.connections.open()).rejects.toMatchObject({ data: { error: 'not_allowed' } });
  });

  it('takes a files.uploadV2 upload end to end and keeps the bytes', async () => {
    const content = 'a,b\r\n"x, ""y""",\u00e9\r\n';
    const result = await client.filesUploadV2({
      channel_id: 'D0ALICE',
      content,
      filename: 'export.csv',
      title: 'The export',
      initial_comment: 'here it is',
    });
    expect(result.ok).toBe(true);
    expect(fake.calls().map((call) => call.method)).toEqual([
      'files.getUploadURLExternal',
      FILE_UPLOAD,
      'files.completeUploadExternal',
    ]);
    expect(fake.calls(FILE_UPLOAD)[0]?.args).toMatchObject({ content, size: Buffer.byteLength(content) });
    expect(fake.uploads()).toEqual([
      {
        fileId: expect.stringMatching(/^F/),
        filename: 'export.csv',
        length: Buffer.byteLength(content),
        content: Buffer.from(content),
        completed: true,
        channelId: 'D0ALICE',
        title: 'The export',
        initialComment: 'here it is',
      },
    ]);
  });

  it('refuses a user ID as the channel of an upload, as Slack does', async () => {
    await expect(
      client.filesUploadV2({ channel_id: 'U0ALICE', content: 'x', filename: 'x.txt' }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    expect(fake.uploads()[0]?.completed).toBe(false);
  });

  it('can fail the upload of the bytes', async () => {
    fake.failNext(FILE_UPLOAD, { status: 500, body: 'boom' });
    await expect(client.filesUploadV2({ channel_id: 'D0ALICE', content: 'x', filename: 'x.txt' })).rejects.toThrow();
    expect(fake.calls('files.completeUploadExternal')).toEqual([]);
    expect(fake.uploads()[0]?.content).toBeUndefined();
  });
});

describe('redis-server', () => {
  it('starts, answers PING via ioredis, and stops', async () => {
    const server = await startRedisServer();
    const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await redis.config('GET', 'dir')).toEqual(['dir', server.dir]);
    } finally {
      redis.disconnect();
      await server.stop();
    }
    await expect(
      new Promise((resolve, reject) => {
        const probe = http.get(`http://127.0.0.1:${server.port}/`);
        probe.on('error', reject);
        probe.on('response', resolve);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('reports the server output when it fails to start', async () => {
    await expect(startRedisServer({ extraArgs: ['--no-such-option', 'x'], timeoutMs: 5_000 })).rejects.toThrow(
      /Failed to start redis-server[\s\S]*redis-server output/,
    );
  });
});

describe('slack signer and payloads', () => {
  it('matches an independently computed signature', () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const body = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fjit';
    const ts = 1531420618;
    const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
    expect(signSlackRequest(secret, body, ts)).toEqual({
      'x-slack-signature': expected,
      'x-slack-request-timestamp': '1531420618',
    });
  });

  it('matches the example from Slack’s documentation', () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest(secret, body, 1531420618)['x-slack-signature']).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('postSigned sends signed form posts and parses JSON answers', async () => {
    const port = await freePort();
    const seen: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        if (body.startsWith('payload=')) {
          res.writeHead(200).end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"hi"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
      const cmd = slashCommandBody({ text: 'request aws-prod admin 1h' });
      const r1 = await postSigned(url, cmd, 'sekret', { timestamp: 1700000000 });
      expect(r1).toMatchObject({ status: 200, json: { text: 'hi' } });
      expect(seen[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(seen[0]?.headers['x-slack-signature']).toBe(
        signSlackRequest('sekret', cmd, 1700000000)['x-slack-signature'],
      );
      const parsed = new URLSearchParams(seen[0]?.body);
      expect(Object.fromEntries(parsed)).toMatchObject({
        command: '/jit',
        text: 'request aws-prod admin 1h',
        team_id: 'T0TEAM',
        channel_id: 'C0GENERAL',
        api_app_id: 'A0APP',
        token: 'legacy-verification-token',
      });

      const action = blockActionsBody({ userId: 'U0BOB', actionId: 'approve', value: 'req-1' });
      const r2 = await postSigned(url, action, 'sekret', { signature: 'v0=bad' });
      expect(r2).toEqual({ status: 200, text: '', headers: expect.any(Object) });
      expect(seen[1]?.headers['x-slack-signature']).toBe('v0=bad');
      const payload = JSON.parse(new URLSearchParams(seen[1]?.body).get('payload') ?? '') as Record<string, unknown>;
      expect(payload).toMatchObject({
        type: 'block_actions',
        user: { id: 'U0BOB' },
        container: { type: 'message', channel_id: 'C0GENERAL', is_ephemeral: false },
        actions: [
          { type: 'button', action_id: 'approve', value: 'req-1', text: { type: 'plain_text', text: 'Approve' } },
        ],
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('together with a real Bolt app', () => {
  it('Bolt accepts the signed slash command and block_actions bodies and talks to the fake API', async () => {
    const fake = await startFakeSlackApi();
    const port = await freePort();
    const app = new App({
      token: 'xoxb-bolt',
      signingSecret: 'bolt-secret',
      clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    const commands: string[] = [];
    app.command('/jit', async ({ command, ack, respond }) => {
      commands.push(`${command.user_id}:${command.text}`);
      await ack();
      await respond({ response_type: 'ephemeral', text: `got ${command.text}` });
    });
    app.action('approve', async ({ ack, body, client }) => {
      await ack();
      if (body.type !== 'block_actions') throw new Error(`unexpected ${body.type}`);
      await client.chat.postMessage({ channel: body.user.id, text: `approved by ${body.user.id}` });
    });
    await app.start(port);
    try {
      const url = `http://127.0.0.1:${port}/slack/events`;
      const cmd = await postSigned(
        url,
        slashCommandBody({ text: 'aws prod', response_url: fake.responseUrl('cmd') }),
        'bolt-secret',
      );
      expect(cmd.status).toBe(200);
      await expect(fake.waitFor('response_url')).resolves.toMatchObject({ args: { text: 'got aws prod' } });
      expect(commands).toEqual(['U0ALICE:aws prod']);

      const act = await postSigned(
        url,
        blockActionsBody({ userId: 'U0BOB', actionId: 'approve', value: 'req-1' }),
        'bolt-secret',
      );
      expect(act.status).toBe(200);
      const dm = await fake.waitFor((c) => c.method === 'chat.postMessage');
      expect(dm).toMatchObject({ token: 'xoxb-bolt', args: { channel: 'U0BOB', text: 'approved by U0BOB' } });
      expect(fake.calls('auth.test').length).toBeGreaterThan(0);

      const bad = await postSigned(url, slashCommandBody(), 'wrong-secret');
      expect(bad.status).toBe(401);
    } finally {
      await app.stop();
      await fake.stop();
    }
  });
});
