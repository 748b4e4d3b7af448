import { type AccessRequest, REQUEST_STATES, type RequestState } from '../../../src/domain/access-request';
import { DomainError } from '../../../src/domain/errors';
import { canTransition, isTerminal, TRANSITIONS, transition } from '../../../src/domain/request-machine';
import { makeRequest, T0 } from '../fixtures';

const ALLOWED: ReadonlyArray<readonly [RequestState, RequestState]> = [
  ['pending', 'pending'],
  ['pending', 'approved'],
  ['pending', 'denied'],
  ['pending', 'cancelled'],
  ['pending', 'timed-out'],
  ['approved', 'active'],
  ['approved', 'failed'],
  ['approved', 'applied'],
  // Called off before its scheduled start.
  ['approved', 'cancelled'],
  ['active', 'active'],
  ['active', 'expired'],
  ['active', 'revoked'],
];

const isAllowed = (from: RequestState, to: RequestState) => ALLOWED.some(([f, t]) => f === from && t === to);

const ALL_PAIRS = REQUEST_STATES.flatMap((from) => REQUEST_STATES.map((to) => [from, to] as const));
const DISALLOWED = ALL_PAIRS.filter(([from, to]) => !isAllowed(from, to));

describe('TRANSITIONS', () => {
  it('is exactly the documented lifecycle', () => {
    const edges = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}→${to}`));
    expect(edges.sort()).toEqual(ALLOWED.map(([from, to]) => `${from}→${to}`).sort());
  });

  it('has a row for every state and no other', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...REQUEST_STATES].sort());
  });

  it('makes expired, revoked, denied, cancelled, timed-out, failed and applied terminal, and only those', () => {
    const terminal = REQUEST_STATES.filter(isTerminal);
    expect(terminal.sort()).toEqual(['applied', 'cancelled', 'denied', 'expired', 'failed', 'revoked', 'timed-out']);
  });

  it('agrees with canTransition on every pair', () => {
    for (const [from, to] of ALL_PAIRS)
      expect([from, to, canTransition(from, to)]).toEqual([from, to, isAllowed(from, to)]);
  });
});

describe('transition', () => {
  it.each(ALLOWED)('%s → %s bumps the version, stamps the time and records one audit event', (from, to) => {
    const request = makeRequest({ state: from, version: 7, updatedAt: T0 });
    const at = T0 + 12_345;
    const { next, audit } = transition(request, { to, actor: 'U0ACTOR', reason: `because ${to}`, at });
    expect(next).toEqual({ ...request, state: to, version: 8, updatedAt: at });
    expect(audit).toEqual({ requestId: request.id, from, to, actor: 'U0ACTOR', reason: `because ${to}`, at });
  });

  it('applies the patch but never lets it override identity, state, version or timestamps', () => {
    const request = makeRequest({ state: 'pending', version: 3 });
    const { next } = transition(request, {
      to: 'approved',
      actor: 'U0LEAD',
      reason: 'approved',
      at: T0 + 5,
      patch: { decidedBy: 'U0LEAD', decidedAt: T0 + 5, approvals: [{ userId: 'U0LEAD', at: T0 + 5 }] },
    });
    expect(next).toMatchObject({
      id: request.id,
      state: 'approved',
      version: 4,
      createdAt: request.createdAt,
      updatedAt: T0 + 5,
      decidedBy: 'U0LEAD',
      decidedAt: T0 + 5,
      approvals: [{ userId: 'U0LEAD', at: T0 + 5 }],
    });
  });

  it('does not mutate the request it was given', () => {
    const request = makeRequest();
    const copy: AccessRequest = structuredClone(request);
    transition(request, { to: 'approved', actor: 'U0LEAD', reason: 'ok', at: T0 + 1, patch: { decidedBy: 'U0LEAD' } });
    expect(request).toEqual(copy);
  });

  it.each(DISALLOWED)('%s → %s throws invalid_state', (from, to) => {
    const request = makeRequest({ state: from });
    let error: unknown;
    try {
      transition(request, { to, actor: 'U0ACTOR', reason: 'nope', at: T0 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: 'invalid_state',
      details: { situation: 'transition', requestId: request.id, state: from, to },
    });
  });

  it('covers all 100 pairs between the allowed and disallowed cases', () => {
    expect(ALLOWED.length + DISALLOWED.length).toBe(100);
    expect(DISALLOWED).toHaveLength(88);
  });
});
