import {
  countConditionalBindings,
  countPrincipals,
  expiryOfExpression,
  findJitBinding,
  type IamBinding,
  type IamPolicy,
  jitCondition,
  jitMemberGrants,
  parseRfc3339,
  requestIdOfTitle,
  withJitBinding,
  withoutJitMember,
} from '../../../../src/providers/gcp/iam-policy-edit';

const ROLE = 'roles/compute.admin';
const ALICE = 'user:alice@example.com';
const EXPIRES = Date.parse('2031-05-01T12:00:00.000Z');
const LATER = Date.parse('2031-05-02T08:15:00.000Z');

/** An account Google returns in its own case, and the address the bot knows it by. */
const JANE = 'user:Jane.Doe@example.com';
const JANE_AS_SENT = 'user:jane.doe@example.com';

const theirs: IamBinding[] = [
  { role: ROLE, members: ['user:bob@example.com'] },
  {
    role: ROLE,
    members: [ALICE],
    condition: { title: 'office-hours', expression: 'request.time.getHours("UTC") < 18' },
  },
  { role: 'roles/storage.admin', members: ['group:ops@example.com'] },
];

describe('jitCondition', () => {
  it('names the request and the expiry and makes IAM end the grant at the expiry', () => {
    expect(jitCondition('k7m2xq9d', EXPIRES)).toEqual({
      title: 'jit-k7m2xq9d',
      description: 'jit k7m2xq9d until 2031-05-01T12:00:00.000Z',
      expression: 'request.time < timestamp("2031-05-01T12:00:00.000Z")',
    });
  });
});

describe('withJitBinding', () => {
  it('appends one binding and keeps every other binding as the same object', () => {
    const policy = { bindings: theirs, etag: 'e1', version: 1, auditConfigs: [{ service: 'allServices' }] };

    const { policy: next, changed } = withJitBinding(
      policy,
      { role: ROLE, member: ALICE },
      jitCondition('r1', EXPIRES),
    );

    expect(changed).toBe(true);
    expect(next.bindings).toHaveLength(4);
    next.bindings.slice(0, 3).forEach((binding, i) => {
      expect(binding).toBe(theirs[i]);
    });
    expect(next.bindings[3]).toEqual({ role: ROLE, members: [ALICE], condition: jitCondition('r1', EXPIRES) });
    expect(next.etag).toBe('e1');
    expect(next.auditConfigs).toBe(policy.auditConfigs);
    expect(policy.bindings).toHaveLength(3);
  });

  it('replaces the expiry of its own binding rather than adding a second one', () => {
    const first = withJitBinding(
      { bindings: theirs },
      { role: ROLE, member: ALICE },
      jitCondition('r1', EXPIRES),
    ).policy;

    const { policy: next, changed } = withJitBinding(first, { role: ROLE, member: ALICE }, jitCondition('r1', LATER));

    expect(changed).toBe(true);
    expect(next.bindings).toEqual([...theirs, { role: ROLE, members: [ALICE], condition: jitCondition('r1', LATER) }]);
  });

  it('reports no change when its binding already says exactly this', () => {
    const first = withJitBinding(
      { bindings: theirs },
      { role: ROLE, member: ALICE },
      jitCondition('r1', EXPIRES),
    ).policy;

    const again = withJitBinding(first, { role: ROLE, member: ALICE }, jitCondition('r1', EXPIRES));

    expect(again.changed).toBe(false);
    expect(again.policy).toBe(first);
  });

  it('keeps members someone else added to its binding', () => {
    const policy = {
      bindings: [{ role: ROLE, members: ['user:eve@example.com'], condition: jitCondition('r1', EXPIRES) }],
    };

    const { policy: next } = withJitBinding(policy, { role: ROLE, member: ALICE }, jitCondition('r1', LATER));

    expect(next.bindings).toEqual([
      { role: ROLE, members: ['user:eve@example.com', ALICE], condition: jitCondition('r1', LATER) },
    ]);
  });

  it('treats a binding with its title on another role as not its own', () => {
    const other = { role: 'roles/pubsub.viewer', members: [ALICE], condition: jitCondition('r1', EXPIRES) };

    const { policy: next } = withJitBinding(
      { bindings: [other] },
      { role: ROLE, member: ALICE },
      jitCondition('r1', EXPIRES),
    );

    expect(next.bindings).toEqual([other, { role: ROLE, members: [ALICE], condition: jitCondition('r1', EXPIRES) }]);
  });

  it('finds the member already there in the case Google keeps, writing nothing or only the new expiry', () => {
    const policy = { bindings: [{ role: ROLE, members: [JANE], condition: jitCondition('r1', EXPIRES) }] };

    const same = withJitBinding(policy, { role: ROLE, member: JANE_AS_SENT }, jitCondition('r1', EXPIRES));
    const later = withJitBinding(policy, { role: ROLE, member: JANE_AS_SENT }, jitCondition('r1', LATER));

    expect(same.changed).toBe(false);
    expect(same.policy).toBe(policy);
    expect(later.changed).toBe(true);
    expect(later.policy.bindings).toEqual([{ role: ROLE, members: [JANE], condition: jitCondition('r1', LATER) }]);
  });

  it('adds the person next to a deleted account of the same address', () => {
    const deleted = 'deleted:user:Jane.Doe@example.com?uid=123456789012345678901';
    const policy = { bindings: [{ role: ROLE, members: [deleted], condition: jitCondition('r1', EXPIRES) }] };

    const { policy: next } = withJitBinding(policy, { role: ROLE, member: JANE_AS_SENT }, jitCondition('r1', EXPIRES));

    expect(next.bindings).toEqual([
      { role: ROLE, members: [deleted, JANE_AS_SENT], condition: jitCondition('r1', EXPIRES) },
    ]);
  });

  it('starts the bindings of a policy that has none', () => {
    const { policy: next } = withJitBinding<IamPolicy>({}, { role: ROLE, member: ALICE }, jitCondition('r1', EXPIRES));

    expect(next.bindings).toEqual([{ role: ROLE, members: [ALICE], condition: jitCondition('r1', EXPIRES) }]);
  });
});

describe('withoutJitMember', () => {
  const key = { role: ROLE, member: ALICE, title: 'jit-r1' };
  const ours: IamBinding = { role: ROLE, members: [ALICE], condition: jitCondition('r1', EXPIRES) };

  it('drops its binding when the member was the only one, keeping the rest as the same objects', () => {
    const { policy: next, changed } = withoutJitMember(
      { bindings: [theirs[0] as IamBinding, ours, ...theirs.slice(1)] },
      key,
    );

    expect(changed).toBe(true);
    expect(next.bindings).toEqual(theirs);
    next.bindings?.forEach((binding, i) => {
      expect(binding).toBe(theirs[i]);
    });
  });

  it('removes only its member when someone else is in the binding too', () => {
    const shared = { ...ours, members: ['user:eve@example.com', ALICE] };

    const { policy: next } = withoutJitMember({ bindings: [shared] }, key);

    expect(next.bindings).toEqual([{ ...ours, members: ['user:eve@example.com'] }]);
  });

  it('removes the member Google returned in the account’s own case', () => {
    const shared = { ...ours, members: ['user:eve@example.com', JANE] };

    const { policy: next, changed } = withoutJitMember({ bindings: [shared] }, { ...key, member: JANE_AS_SENT });

    expect(changed).toBe(true);
    expect(next.bindings).toEqual([{ ...ours, members: ['user:eve@example.com'] }]);
  });

  it.each<[string, IamBinding[]]>([
    ['no bindings at all', []],
    [
      'its binding with a deleted account of the same address',
      [{ ...ours, members: ['deleted:user:alice@example.com?uid=123456789012345678901'] }],
    ],
    ['only bindings of others, some for the same role and member', theirs],
    ['its title on another role', [{ ...ours, role: 'roles/pubsub.viewer' }]],
    ['its binding without the member', [{ ...ours, members: ['user:eve@example.com'] }]],
    ['another request of the same person', [{ ...ours, condition: jitCondition('r2', EXPIRES) }]],
  ])('changes nothing when the policy holds %s', (_what, bindings) => {
    const policy = { bindings };

    const edit = withoutJitMember(policy, key);

    expect(edit.changed).toBe(false);
    expect(edit.policy).toBe(policy);
  });
});

describe('findJitBinding', () => {
  it('finds only the binding with its role, title and member', () => {
    const ours: IamBinding = { role: ROLE, members: [ALICE], condition: jitCondition('r1', EXPIRES) };
    const key = { role: ROLE, member: ALICE, title: 'jit-r1' };

    expect(findJitBinding({ bindings: [...theirs, ours] }, key)).toBe(ours);
    expect(findJitBinding({ bindings: theirs }, key)).toBeUndefined();
    expect(findJitBinding({ bindings: [ours] }, { ...key, member: 'user:bob@example.com' })).toBeUndefined();
    expect(findJitBinding({}, key)).toBeUndefined();
  });

  it('finds its binding holding the member in another case', () => {
    const ours: IamBinding = { role: ROLE, members: [JANE], condition: jitCondition('r1', EXPIRES) };

    expect(findJitBinding({ bindings: [ours] }, { role: ROLE, member: JANE_AS_SENT, title: 'jit-r1' })).toBe(ours);
  });
});

describe('countConditionalBindings', () => {
  it('counts every conditional binding, and those of the role holding the person in any case', () => {
    const policy = {
      bindings: [
        ...theirs,
        { role: ROLE, members: [JANE], condition: jitCondition('r1', EXPIRES) },
        { role: ROLE, members: ['user:eve@example.com', JANE_AS_SENT], condition: jitCondition('r2', EXPIRES) },
        { role: ROLE, members: [JANE] },
        { role: 'roles/pubsub.viewer', members: [JANE], condition: jitCondition('r3', EXPIRES) },
        { role: ROLE, members: ['deleted:user:Jane.Doe@example.com?uid=1'], condition: jitCondition('r4', EXPIRES) },
      ],
    };

    expect(countConditionalBindings(policy, { role: ROLE, member: JANE_AS_SENT })).toEqual({
      inPolicy: 5,
      forRoleAndMember: 2,
    });
    expect(countConditionalBindings({}, { role: ROLE, member: JANE })).toEqual({ inPolicy: 0, forRoleAndMember: 0 });
  });
});

describe('countPrincipals', () => {
  it('counts every occurrence of a principal, and groups apart', () => {
    expect(
      countPrincipals({
        bindings: [...theirs, { role: 'roles/pubsub.viewer', members: [ALICE, 'group:ops@example.com'] }],
      }),
    ).toEqual({ principals: 5, groups: 2 });
  });
});

describe('requestIdOfTitle', () => {
  it.each([
    ['jit-k7m2xq9d', 'k7m2xq9d'],
    ['jit-a', 'a'],
    ['jit-0123456789', '0123456789'],
    [`jit-${'a'.repeat(64)}`, 'a'.repeat(64)],
  ])('reads %j as request %j', (title, requestId) => {
    expect(requestIdOfTitle(title)).toBe(requestId);
  });

  it.each([
    'jit-',
    'jit-ABC',
    'jit-Abc',
    'JIT-abc',
    'jit-abc-old',
    'jit-abc ',
    ' jit-abc',
    'jit-abc\n',
    'jit_abc',
    'xjit-abc',
    'jit-ab.c',
    `jit-${'a'.repeat(65)}`,
    'office-hours',
    '',
    null,
    undefined,
  ])('does not take %j for the bot title', (title) => {
    expect(requestIdOfTitle(title)).toBeUndefined();
  });
});

describe('parseRfc3339', () => {
  it.each([
    ['2031-05-01T12:00:00.000Z', Date.UTC(2031, 4, 1, 12)],
    ['2031-05-01T12:00:00Z', Date.UTC(2031, 4, 1, 12)],
    ['2031-05-01T12:00:00.5Z', Date.UTC(2031, 4, 1, 12, 0, 0, 500)],
    ['2031-05-01T12:00:00.123000000Z', Date.UTC(2031, 4, 1, 12, 0, 0, 123)],
    // A finer fraction rounds up: never earlier than the instant IAM stops honouring the binding.
    ['2031-05-01T12:00:00.123000001Z', Date.UTC(2031, 4, 1, 12, 0, 0, 124)],
    ['2031-05-01T12:00:00.999999999Z', Date.UTC(2031, 4, 1, 12, 0, 1)],
    ['2031-05-01T14:30:00+02:30', Date.UTC(2031, 4, 1, 12)],
    ['2031-05-01T09:00:00-03:00', Date.UTC(2031, 4, 1, 12)],
    ['2032-02-29T00:00:00Z', Date.UTC(2032, 1, 29)],
    ['0099-01-01T00:00:00Z', Date.parse('0099-01-01T00:00:00Z')],
  ])('reads %s exactly', (text, expected) => {
    expect(parseRfc3339(text)).toBe(expected);
  });

  it.each([
    '2031-02-29T00:00:00Z',
    '2031-04-31T00:00:00Z',
    '2031-13-01T00:00:00Z',
    '2031-00-10T00:00:00Z',
    '2031-05-00T00:00:00Z',
    '2031-05-01T24:00:00Z',
    '2031-05-01T12:60:00Z',
    '2031-05-01T12:00:60Z',
    '2031-05-01T12:00:00+24:00',
    '2031-05-01T12:00:00',
    '2031-05-01 12:00:00Z',
    '2031-05-01t12:00:00z',
    '2031-05-01T12:00:00.Z',
    '2031-05-01T12:00:00.1234567890Z',
    '2031-05-01T12:00Z',
    '2031-05-01',
    '31-05-01T12:00:00Z',
    '2031-05-01T12:00:00+0200',
    'May 1, 2031',
    '1904601600000',
    '',
  ])('refuses %j', (text) => {
    expect(parseRfc3339(text)).toBeUndefined();
  });
});

describe('expiryOfExpression', () => {
  const at = Date.UTC(2031, 4, 1, 12);

  it('reads back exactly what jitCondition writes, in the past and in the future', () => {
    for (const expiry of [Date.UTC(2020, 0, 1, 0, 0, 0, 1), at, Date.UTC(2031, 4, 1, 12, 0, 0, 999)]) {
      expect(expiryOfExpression(jitCondition('r1', expiry).expression)).toBe(expiry);
    }
  });

  it.each([
    'request.time<timestamp("2031-05-01T12:00:00Z")',
    "request.time < timestamp('2031-05-01T12:00:00.000Z')",
    '  request.time  <  timestamp( "2031-05-01T12:00:00.000Z" )  ',
  ])('reads the same condition written by hand: %s', (expression) => {
    expect(expiryOfExpression(expression)).toBe(at);
  });

  it.each([
    ['another comparison', 'request.time <= timestamp("2031-05-01T12:00:00Z")'],
    ['the other way round', 'timestamp("2031-05-01T12:00:00Z") > request.time'],
    ['something more', 'request.time < timestamp("2031-05-01T12:00:00Z") || true'],
    ['something before', 'true && request.time < timestamp("2031-05-01T12:00:00Z")'],
    ['a start time', 'request.time > timestamp("2031-05-01T12:00:00Z")'],
    ['mixed quotes', 'request.time < timestamp("2031-05-01T12:00:00Z\')'],
    ['a date that does not exist', 'request.time < timestamp("2031-02-30T12:00:00Z")'],
    ['no time zone', 'request.time < timestamp("2031-05-01T12:00:00")'],
    ['a word', 'request.time < timestamp("tomorrow")'],
    ['an hour condition', 'request.time.getHours("UTC") < 18'],
    ['nothing', ''],
  ])('reads no expiry from %s', (_what, expression) => {
    expect(expiryOfExpression(expression)).toBeUndefined();
  });

  it('reads no expiry from a missing expression', () => {
    expect(expiryOfExpression(undefined)).toBeUndefined();
    expect(expiryOfExpression(null)).toBeUndefined();
  });
});

describe('jitMemberGrants', () => {
  it('reports each member of each jit-<requestId> binding, with its expiry, and nothing else', () => {
    const shared: IamBinding = {
      role: ROLE,
      members: [ALICE, 'group:oncall@example.com'],
      condition: jitCondition('r1', EXPIRES),
    };
    const other: IamBinding = {
      role: 'roles/pubsub.viewer',
      members: ['user:bob@example.com'],
      condition: jitCondition('r2', LATER),
    };
    const lookAlikes: IamBinding[] = ['jit-', 'jit-ABC', 'jit-r1-old', 'JIT-r1', 'jit r1'].map((title) => ({
      role: ROLE,
      members: [ALICE],
      condition: { ...jitCondition('r1', EXPIRES), title },
    }));
    // The bot's description but someone else's title: the title alone marks the bot's bindings.
    const describedOnly: IamBinding = {
      role: ROLE,
      members: [ALICE],
      condition: { ...jitCondition('r1', EXPIRES), title: 'extended-by-hand' },
    };

    const found = jitMemberGrants({ bindings: [...theirs, shared, ...lookAlikes, describedOnly, other] });

    expect(found).toEqual([
      {
        requestId: 'r1',
        role: ROLE,
        member: ALICE,
        title: 'jit-r1',
        expiresAt: EXPIRES,
        expression: jitCondition('r1', EXPIRES).expression,
      },
      {
        requestId: 'r1',
        role: ROLE,
        member: 'group:oncall@example.com',
        title: 'jit-r1',
        expiresAt: EXPIRES,
        expression: jitCondition('r1', EXPIRES).expression,
      },
      {
        requestId: 'r2',
        role: 'roles/pubsub.viewer',
        member: 'user:bob@example.com',
        title: 'jit-r2',
        expiresAt: LATER,
        expression: jitCondition('r2', LATER).expression,
      },
    ]);
  });

  it('reports a jit-<requestId> binding whose expression it cannot read without an expiry', () => {
    const expression = 'request.time < timestamp("2031-05-01T12:00:00Z") || true';

    const found = jitMemberGrants({
      bindings: [{ role: ROLE, members: [ALICE], condition: { title: 'jit-r1', expression } }],
    });

    expect(found).toEqual([{ requestId: 'r1', role: ROLE, member: ALICE, title: 'jit-r1', expression }]);
    expect(found[0]).not.toHaveProperty('expiresAt');
  });

  it('finds nothing in a policy without bindings, or in bindings without a role or members', () => {
    expect(jitMemberGrants({})).toEqual([]);
    expect(jitMemberGrants({ bindings: null })).toEqual([]);
    expect(
      jitMemberGrants({
        bindings: [
          { members: [ALICE], condition: jitCondition('r1', EXPIRES) },
          { role: ROLE, members: [], condition: jitCondition('r1', EXPIRES) },
          { role: ROLE, condition: jitCondition('r1', EXPIRES) },
        ],
      }),
    ).toEqual([]);
  });

  it('names exactly what withoutJitMember removes: that member of that binding', () => {
    const shared: IamBinding = {
      role: ROLE,
      members: [ALICE, 'group:oncall@example.com'],
      condition: jitCondition('r1', EXPIRES),
    };
    const policy = { bindings: [...theirs, shared] };

    const [first] = jitMemberGrants(policy);
    if (first === undefined) throw new Error('expected a grant');
    const { policy: next } = withoutJitMember(policy, first);

    expect(next.bindings).toEqual([...theirs, { ...shared, members: ['group:oncall@example.com'] }]);
  });
});
