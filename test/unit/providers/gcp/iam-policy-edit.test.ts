import {
  countPrincipals,
  findJitBinding,
  type IamBinding,
  type IamPolicy,
  jitCondition,
  withJitBinding,
  withoutJitMember,
} from '../../../../src/providers/gcp/iam-policy-edit';

const ROLE = 'roles/compute.admin';
const ALICE = 'user:alice@example.com';
const EXPIRES = Date.parse('2031-05-01T12:00:00.000Z');
const LATER = Date.parse('2031-05-02T08:15:00.000Z');

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

  it.each<[string, IamBinding[]]>([
    ['no bindings at all', []],
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
