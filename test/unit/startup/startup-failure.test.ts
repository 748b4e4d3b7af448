import { ConfigError } from '../../../src/config/config-error';
import { BotTokenRefused } from '../../../src/slack/bot-identity';
import { describeStartupFailure, EXIT } from '../../../src/startup/startup-failure';
import { LocalRedisFailed, RedisServerNotInstalled } from '../../../src/store/local-redis';
import { RedisSettingsRefused } from '../../../src/store/redis-checks';
import { RedisCredentialsRefused, RedisUnreachable } from '../../../src/store/redis-connection';

function listenError(code: string, port?: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen', ...(port !== undefined && { port }) });
}

describe('describeStartupFailure', () => {
  it('tells where settings go when the environment is wrong', () => {
    const failure = describeStartupFailure(
      new ConfigError('The configuration', ['The environment: SLACK_BOT_TOKEN: is missing']),
      3000,
    );
    expect(failure?.status).toBe(EXIT.config);
    expect(failure?.message).toContain('copy .env.example to .env');
  });

  it('does not talk about .env when only the policy file is wrong', () => {
    const failure = describeStartupFailure(
      new ConfigError('The configuration', ['The policy file ./policy.yml: roles[0].id: bad']),
      3000,
    );
    expect(failure?.status).toBe(EXIT.config);
    expect(failure?.message).not.toContain('.env');
  });

  it('gives settings that must change 78 and an unreachable Redis 69', () => {
    expect(describeStartupFailure(new BotTokenRefused('refused'), 3000)?.status).toBe(78);
    expect(describeStartupFailure(new RedisSettingsRefused('allkeys-lru'), 3000)?.status).toBe(78);
    expect(describeStartupFailure(new RedisCredentialsRefused('redis://h:1', 'WRONGPASS'), 3000)?.status).toBe(78);
    expect(describeStartupFailure(new RedisUnreachable('redis://h:1', 15_000, 'ECONNREFUSED'), 3000)?.status).toBe(69);
    expect(describeStartupFailure(new RedisServerNotInstalled('redis://127.0.0.1:6379'), 3000)?.status).toBe(69);
    expect(
      describeStartupFailure(new LocalRedisFailed('redis://127.0.0.1:6379', 'x.log', 'exited'), 3000)?.status,
    ).toBe(69);
  });

  it('names the port that is taken, and PORT', () => {
    expect(describeStartupFailure(listenError('EADDRINUSE', 8080), 3000)).toEqual({
      status: 78,
      message: expect.stringMatching(/^port 8080 is already in use.*set PORT in \.env or the environment/),
    });
    expect(describeStartupFailure(listenError('EADDRINUSE'), 3000)?.message).toContain('port 3000');
    expect(describeStartupFailure(listenError('EACCES', 80), 80)?.message).toContain('port 80 may not be listened on');
  });

  it('leaves anything else to be reported with its stack', () => {
    expect(describeStartupFailure(new Error('boom'), 3000)).toBeUndefined();
    expect(
      describeStartupFailure(Object.assign(new Error('x'), { code: 'EADDRINUSE', syscall: 'connect' }), 3000),
    ).toBe(undefined);
    expect(describeStartupFailure(undefined, 3000)).toBeUndefined();
  });
});
