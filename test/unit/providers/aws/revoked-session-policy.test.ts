import {
  denyUntil,
  pruneRevokedSessions,
  readRevokedSessions,
  revokedSessionsDocument,
  userIdPattern,
} from '../../../../src/providers/aws/revoked-session-policy';

const at = (hour: number, minute = 0) => Date.UTC(2031, 0, 2, hour, minute, 0);

describe('denyUntil', () => {
  it('counts from the revocation or the expiry, whichever is earlier, plus MaxSessionDuration and 5 min, to the hour', () => {
    expect(denyUntil(at(11), at(12), 3_600)).toBe(at(13));
    expect(denyUntil(at(12, 30), at(12), 3_600)).toBe(at(14));
    expect(denyUntil(at(10, 54), at(12), 3_600)).toBe(at(12));
    expect(denyUntil(at(11), at(12), 43_200)).toBe(at(24));
  });

  it('counts from the revocation when the expiry is unknown (0)', () => {
    expect(denyUntil(at(11), 0, 3_600)).toBe(at(13));
  });
});

describe('the deny document', () => {
  it('groups sessions by end, sorted, and reads back what it wrote', () => {
    const content = {
      sessions: new Map([
        [userIdPattern('jit-b'), at(14)],
        [userIdPattern('jit-a'), at(14)],
        [userIdPattern('jit-c'), at(13)],
      ]),
      others: [],
    };
    const document = revokedSessionsDocument(content);
    expect(document).toEqual({
      Version: '2012-10-17',
      Statement: [
        expect.objectContaining({
          Sid: 'JitRevokedUntil20310102T130000Z',
          Condition: {
            StringLike: { 'aws:userid': ['*:jit-c'] },
            DateLessThan: { 'aws:CurrentTime': '2031-01-02T13:00:00Z' },
          },
        }),
        expect.objectContaining({
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: {
            StringLike: { 'aws:userid': ['*:jit-a', '*:jit-b'] },
            DateLessThan: { 'aws:CurrentTime': '2031-01-02T14:00:00Z' },
          },
        }),
      ],
    });
    expect(readRevokedSessions(document)).toEqual(content);
  });

  it('is undefined when nothing is left, so the policy is deleted', () => {
    expect(revokedSessionsDocument({ sessions: new Map(), others: [] })).toBeUndefined();
  });

  it('keeps statements in another shape until their own expiry, and reads keys in any case', () => {
    const foreign = { Effect: 'Deny', Action: 's3:*', Resource: '*' };
    const ending = { ...foreign, Condition: { DateLessThan: { 'aws:CurrentTime': '2031-01-02T12:00:00Z' } } };
    const ours = {
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: {
        StringLike: { 'AWS:UserId': '*:jit-x' },
        DateLessThan: { 'aws:currenttime': '2031-01-02T13:00:00Z' },
      },
    };
    const content = readRevokedSessions({ Statement: [foreign, ending, ours] });
    expect(content.sessions).toEqual(new Map([['*:jit-x', at(13)]]));
    expect(content.others).toEqual([foreign, ending]);

    const pruned = pruneRevokedSessions(content, at(12));
    expect(pruned.others).toEqual([foreign]);
    expect(pruned.sessions.size).toBe(1);
    expect(pruneRevokedSessions(content, at(13)).sessions.size).toBe(0);
  });

  it('reads nothing from what is not a policy', () => {
    expect(readRevokedSessions(undefined)).toEqual({ sessions: new Map(), others: [] });
  });
});
