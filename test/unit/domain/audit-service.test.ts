import type { AuditEntry, AuditNote } from '../../../src/domain/audit-event';
import { AuditService, parsePointInTime, selectAuditEntries } from '../../../src/domain/audit-service';
import { DomainError } from '../../../src/domain/errors';
import type { Policy } from '../../../src/domain/policy';
import type { AuditLog, PeopleDirectory } from '../../../src/domain/ports';
import { HOUR, MINUTE, T0 } from '../fixtures';

const DAY = 24 * HOUR;

function entry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    type: 'transition',
    streamId: `${T0 + n}-0`,
    requestId: n % 2 === 0 ? 'evenevee' : 'oddoddod',
    from: 'none',
    to: 'pending',
    actor: 'U0ALICE',
    reason: `entry ${n}`,
    at: T0 + n,
    ...overrides,
  } as AuditEntry;
}

/** An in-memory audit log that counts how many entries were read from it. */
class MemoryAuditLog implements AuditLog {
  readonly notes: AuditNote[] = [];
  read = 0;
  constructor(readonly trail: AuditEntry[]) {}
  async note(note: AuditNote): Promise<void> {
    this.notes.push(note);
  }
  async *entries(sinceMs = 0): AsyncGenerator<AuditEntry> {
    for (const e of this.trail) {
      if (e.at < sinceMs) continue;
      this.read += 1;
      yield e;
    }
  }
  async trim(): Promise<number> {
    return 0;
  }
}

const directory: PeopleDirectory = {
  usergroupMembers: async (id) => (id === 'S0AUDITORS' ? ['U0CAROL'] : []),
  userEmail: async () => undefined,
  userStanding: async () => ({ deactivated: false, guest: false }),
};

function service(admins: Policy['settings']['admins'], log: MemoryAuditLog, maxEntries?: number) {
  const policy = { settings: { admins } } as unknown as Policy;
  return new AuditService({
    auditLog: log,
    policy: { current: () => policy },
    directory,
    clock: { now: () => T0 + DAY },
    ...(maxEntries !== undefined && { maxEntries }),
  });
}

const ADMINS = { users: ['U0SEC', 'U0LEAD'], usergroups: ['S0AUDITORS'] };

describe('AuditService.exportFor', () => {
  it('gives an admin the entries since the time, oldest first', async () => {
    const log = new MemoryAuditLog([entry(1), entry(2), entry(3)]);
    const exported = await service(ADMINS, log).exportFor('U0SEC', T0 + 2);
    expect(exported).toEqual({ sinceMs: T0 + 2, entries: [entry(2), entry(3)], truncated: false });
  });

  it('counts members of an admin user group as admins', async () => {
    const exported = await service(ADMINS, new MemoryAuditLog([entry(1)])).exportFor('U0CAROL', 0);
    expect(exported.entries).toEqual([entry(1)]);
  });

  it('filters by request', async () => {
    const exported = await service(ADMINS, new MemoryAuditLog([entry(1), entry(2), entry(4)])).exportFor('U0SEC', 0, {
      requestId: 'evenevee',
    });
    expect(exported.entries.map((e) => e.reason)).toEqual(['entry 2', 'entry 4']);
  });

  it('stops at the limit, says so, and reads no further', async () => {
    const log = new MemoryAuditLog(Array.from({ length: 100 }, (_, n) => entry(n)));
    const exported = await service(ADMINS, log, 10).exportFor('U0SEC', 0);
    expect(exported.entries).toHaveLength(10);
    expect(exported.truncated).toBe(true);
    expect(exported.entries.at(-1)).toEqual(entry(9));
    expect(log.read).toBe(11);
  });

  it('is not truncated when exactly the limit matched', async () => {
    const exported = await service(ADMINS, new MemoryAuditLog([entry(1), entry(2)]), 2).exportFor('U0SEC', 0);
    expect(exported).toMatchObject({ truncated: false, entries: [entry(1), entry(2)] });
  });

  it('refuses anyone else, naming the admins, and audits the refusal', async () => {
    const log = new MemoryAuditLog([entry(1)]);
    const refusal = service(ADMINS, log).exportFor('U0MALLORY', 0);
    await expect(refusal).rejects.toBeInstanceOf(DomainError);
    await expect(refusal).rejects.toMatchObject({
      code: 'not_allowed',
      details: {
        situation: 'not-admin',
        action: 'audit',
        admins: { users: ['U0SEC', 'U0LEAD'], usergroups: ['S0AUDITORS'] },
      },
    });
    expect(log.read).toBe(0);
    expect(log.notes).toEqual([
      { kind: 'refusal', actor: 'U0MALLORY', reason: 'audit export refused: not an admin', at: T0 + DAY },
    ]);
  });

  it('says when the policy names no admins at all', async () => {
    await expect(
      service({ users: [], usergroups: [] }, new MemoryAuditLog([])).exportFor('U0SEC', 0),
    ).rejects.toMatchObject({ code: 'not_allowed', details: { admins: { users: [], usergroups: [] } } });
  });
});

describe('selectAuditEntries', () => {
  async function collect(filter: Parameters<typeof selectAuditEntries>[1], log: MemoryAuditLog) {
    const found: AuditEntry[] = [];
    for await (const e of selectAuditEntries(log.entries(), filter)) found.push(e);
    return found;
  }

  it('stops reading at the first entry past until', async () => {
    const log = new MemoryAuditLog(Array.from({ length: 50 }, (_, n) => entry(n)));
    const found = await collect({ untilMs: T0 + 4 }, log);
    expect(found.map((e) => e.at - T0)).toEqual([0, 1, 2, 3, 4]);
    expect(log.read).toBe(6);
  });

  it('keeps notes that name no request out of a request filter', async () => {
    const log = new MemoryAuditLog([
      entry(1),
      { type: 'drift', streamId: '2-0', actor: 'system:reconciler', reason: 'unknown artefact', at: T0 + 2 },
    ]);
    expect(await collect({ requestId: 'oddoddod' }, log)).toEqual([entry(1)]);
    expect(await collect({}, log)).toHaveLength(2);
  });
});

describe('parsePointInTime', () => {
  const now = T0;

  it.each([
    ['7d', now - 7 * DAY],
    ['12h', now - 12 * HOUR],
    ['30m', now - 30 * MINUTE],
    ['1d12h', now - 36 * HOUR],
    [' 7D ', now - 7 * DAY],
    ['2026-03-01', Date.UTC(2026, 2, 1)],
    ['2026-03-01T08:30:00Z', Date.UTC(2026, 2, 1, 8, 30)],
    ['2026-03-01T08:30:00.250Z', Date.UTC(2026, 2, 1, 8, 30, 0, 250)],
    ['2026-03-01T08:30:00+02:00', Date.UTC(2026, 2, 1, 6, 30)],
    ['2026-03-01 08:30Z', Date.UTC(2026, 2, 1, 8, 30)],
  ])('reads %j', (text, expected) => {
    expect(parsePointInTime(text, now)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '7days',
    '7',
    '0d',
    '9999d',
    '2026-02-30',
    '2026-13-01',
    '2026-03-01T25:00Z',
    '-7d',
    'k7m2xq9d',
  ])('refuses %j as neither a duration back nor a date', (text) => {
    expect(() => parsePointInTime(text, now)).toThrow(
      expect.objectContaining({
        code: 'invalid_duration',
        details: { input: text, problem: 'not-a-point-in-time' },
      }),
    );
  });
});
