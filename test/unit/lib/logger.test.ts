import { createLogger, maskSecrets } from '../../../src/lib/logger';

/** A logger writing into memory, and the lines it wrote parsed as JSON. */
function memoryLogger(level = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => lines.push(line) } });
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const output = () => lines.join('');
  return { logger, lines, records, output };
}

describe('createLogger', () => {
  it('writes one JSON object per line with the level as a label', () => {
    const { logger, lines, records } = memoryLogger();
    logger.info({ requestId: 'k7m2xq9d' }, 'request filed');
    logger.warn('careful');
    logger.error('broken');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.endsWith('\n')).toBe(true);
    expect(records().map((record) => record.level)).toEqual(['info', 'warn', 'error']);
    expect(records()[0]).toMatchObject({ service: 'jit-access-bot', requestId: 'k7m2xq9d', msg: 'request filed' });
    expect(records()[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level', () => {
    const { logger, records } = memoryLogger('warn');
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    expect(records().map((record) => record.msg)).toEqual(['shown']);
  });

  it('redacts a token field', () => {
    const { logger, output, records } = memoryLogger();
    logger.info({ token: 'xoxb-123-abc' }, 'calling Slack');
    expect(output()).not.toContain('xoxb-123-abc');
    expect(records()[0]?.token).toBe('[redacted]');
  });

  it('redacts an authorization header', () => {
    const { logger, output, records } = memoryLogger();
    logger.info({ headers: { authorization: 'Bearer xoxb-1' } }, 'outgoing request');
    logger.info({ req: { headers: { authorization: 'Bearer xoxb-2', 'x-slack-signature': 'v0=abc123sig' } } }, 'in');
    expect(output()).not.toContain('xoxb-1');
    expect(output()).not.toContain('xoxb-2');
    expect(output()).not.toContain('abc123sig');
    expect(records()[0]).toMatchObject({ headers: { authorization: '[redacted]' } });
  });

  it('redacts configuration secrets by name', () => {
    const { logger, output } = memoryLogger();
    logger.info(
      {
        env: {
          SLACK_BOT_TOKEN: 'xoxb-env-SECRET',
          SLACK_APP_TOKEN: 'xapp-env-SECRET',
          SLACK_SIGNING_SECRET: 'deadbeefSECRET',
          redisUrl: 'redis://:pw@host',
        },
        password: 'hunter2',
      },
      'config',
    );
    for (const secret of ['xoxb-env-SECRET', 'xapp-env-SECRET', 'deadbeefSECRET', 'redis://:pw@host', 'hunter2']) {
      expect(output()).not.toContain(secret);
    }
  });

  it('masks tokens inside message text, including format arguments', () => {
    const { logger, output, records } = memoryLogger();
    logger.info('posting with xoxb-999-secret now');
    logger.info('token was %s', 'xoxp-888-secret');
    expect(output()).not.toContain('999-secret');
    expect(output()).not.toContain('888-secret');
    expect(records().map((record) => record.msg)).toEqual(['posting with xoxb-*** now', 'token was xoxp-***']);
  });

  it('masks tokens in an error logged alone', () => {
    const { logger, output, records } = memoryLogger();
    logger.error(new Error('socket mode refused xapp-1-SECRET'));
    expect(output()).not.toContain('SECRET');
    expect(records()[0]).toMatchObject({
      level: 'error',
      msg: 'socket mode refused xapp-***',
      err: { type: 'Error', message: 'socket mode refused xapp-***' },
    });
  });

  it('masks tokens in an error logged with a message, under err, and in its cause', () => {
    const { logger, output, records } = memoryLogger();
    logger.error(new Error('refused xapp-1-SECRET'), 'while connecting');
    logger.error({ err: new Error('refused xapp-2-SECRET') }, 'while connecting');
    logger.error({ err: new Error('refused xapp-3-SECRET') });
    logger.error({ err: new Error('outer', { cause: new Error('inner xoxb-4-SECRET') }) }, 'nested');
    expect(output()).not.toContain('SECRET');
    expect(records().map((record) => record.msg)).toEqual([
      'while connecting',
      'while connecting',
      'refused xapp-***',
      'nested',
    ]);
  });

  it('masks tokens in the messages of child loggers', () => {
    const { logger, output, records } = memoryLogger();
    logger.child({ component: 'bolt' }).warn('bolt says xoxb-777-secret');
    expect(output()).not.toContain('777-secret');
    expect(records()[0]).toMatchObject({ component: 'bolt', msg: 'bolt says xoxb-***' });
  });
});

describe('maskSecrets', () => {
  it.each([
    ['xoxb-123-abc', 'xoxb-***'],
    ['xoxp-1-2-3', 'xoxp-***'],
    ['xoxa-2-abc', 'xoxa-***'],
    ['xapp-1-A1-123-abc', 'xapp-***'],
    ['redis://user:pw@host:6379/0', 'redis://***@host:6379/0'],
    ['rediss://:pw@host', 'rediss://***@host'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['a xoxb-1 and xapp-2 b', 'a xoxb-*** and xapp-*** b'],
    ['nothing secret', 'nothing secret'],
  ])('%j → %j', (text, expected) => {
    expect(maskSecrets(text)).toBe(expected);
  });
});
