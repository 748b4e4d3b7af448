import type { Redis } from 'ioredis';
import { RedisAuditLog } from '../../../src/store/audit-log';
import { RedisKeys } from '../../../src/store/keys';

/**
 * Where trimming stops. Redis trims a stream by the lowest ID to keep (XTRIM MINID); what matters here is which
 * ID the log asks for, so the client only records it (approximate trimming on a small stream removes nothing,
 * which would hide the floor from a test against a real server).
 */
function logWith(deliveredUpTo: string | undefined) {
  const asked: string[] = [];
  const redis = {
    xtrim: async (_key: string, _strategy: string, _approx: string, minId: string) => {
      asked.push(minId);
      return 0;
    },
  } as unknown as Redis;
  const log = new RedisAuditLog(redis, new RedisKeys('jit-test'), undefined, async () => deliveredUpTo);
  return { log, asked };
}

describe('audit retention and the webhook cursor', () => {
  it('trims up to the retention when everything was delivered', async () => {
    const { log, asked } = logWith('5000-3');
    await log.trim(4_000);
    expect(asked).toEqual(['4000-0']);
  });

  it('keeps entries past their retention that the webhook has not delivered yet', async () => {
    const { log, asked } = logWith('2500-0');
    await log.trim(4_000);
    expect(asked).toEqual(['2500-0']);
  });

  it('trims by retention alone when no webhook is owed anything', async () => {
    const { log, asked } = logWith(undefined);
    await log.trim(4_000);
    expect(asked).toEqual(['4000-0']);
  });
});
