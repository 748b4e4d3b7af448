import { gcpTargetSchema, resourceKind } from '../../../../src/providers/gcp/gcp-target';

/** The messages a target is refused with; fails the test when it is accepted. */
function problemsOf(target: unknown): string[] {
  const result = gcpTargetSchema.safeParse(target);
  if (result.success) throw new Error(`expected ${JSON.stringify(target)} to be refused`);
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('gcpTargetSchema', () => {
  it.each([
    ['projects/my-project-123', 'roles/compute.instanceAdmin.v1'],
    ['projects/abcdef', 'roles/browser'],
    ['projects/a23456789012345678901234567890', 'roles/iam.serviceAccountUser'],
    ['folders/123456789012', 'roles/resourcemanager.folderViewer'],
    ['organizations/987654321098', 'organizations/987654321098/roles/jit_auditor.v2'],
    ['folders/42', 'organizations/987654321098/roles/jitAuditor'],
    ['projects/my-project-123', 'projects/my-project-123/roles/deployer'],
  ])('accepts %s with %s', (resource, role) => {
    expect(gcpTargetSchema.parse({ resource, role })).toEqual({ resource, role });
  });

  it.each(['roles/owner', 'roles/editor', 'roles/viewer'])('refuses the basic role %s and says why', (role) => {
    const [problem, ...others] = problemsOf({ resource: 'projects/my-project-123', role });

    expect(others).toEqual([]);
    expect(problem).toMatch(/^role: /);
    expect(problem).toContain('basic role');
    expect(problem).toContain('IAM conditions do not work on basic roles');
    expect(problem).toContain('could not expire by itself');
    expect(problem).toContain('predefined or custom role');
  });

  it.each([
    ['projects/short', 'project ID must be 6–30'],
    ['projects/1project', 'start with a letter'],
    ['projects/My-Project', 'lowercase'],
    ['projects/my-project-', 'not end with a hyphen'],
    ['projects/a234567890123456789012345678901', '6–30'],
    ['projects/my_project', 'e.g. "projects/my-project-123"'],
    ['folders/engineering', 'named by their number'],
    ['organizations/example.com', 'named by their number'],
    ['my-project-123', 'expected projects/<project-id>'],
    ['projects/my-project-123/', 'e.g. "projects/my-project-123"'],
    ['', 'expected projects/<project-id>'],
  ])('refuses the resource %j with a message that says what is expected', (resource, expected) => {
    const problems = problemsOf({ resource, role: 'roles/compute.viewer' });

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^resource: /);
    expect(problems[0]).toContain(expected);
  });

  it.each([
    'compute.viewer',
    'roles/',
    'roles/compute viewer',
    'role/compute.viewer',
    'projects/my-project-123/roles/x',
    'organizations/acme/roles/jitAuditor',
    'folders/42/roles/jitAuditor',
  ])('refuses the role name %j with the three accepted forms and an example', (role) => {
    const problems = problemsOf({ resource: 'projects/my-project-123', role });

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^role: /);
    expect(problems[0]).toContain('roles/<name>');
    expect(problems[0]).toContain('projects/<project-id>/roles/<role-id>');
    expect(problems[0]).toContain('organizations/<number>/roles/<role-id>');
    expect(problems[0]).toContain('e.g. "roles/compute.instanceAdmin.v1"');
  });

  it('refuses a project custom role on another resource, since Google only grants it in its own project', () => {
    const problems = problemsOf({ resource: 'projects/other-project', role: 'projects/my-project-123/roles/deployer' });

    expect(problems).toEqual([
      'role: "projects/my-project-123/roles/deployer" is a custom role of project my-project-123, which can only be granted on "projects/my-project-123", not on "projects/other-project"; use an organization custom role or a predefined role there',
    ]);
  });

  it('requires both fields and says what each expects', () => {
    const problems = problemsOf({});

    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^resource: resource is required: expected projects\/<project-id>/);
    expect(problems[1]).toMatch(/^role: role is required: expected a predefined role roles\/<name>/);
  });

  it('refuses unknown keys', () => {
    const problems = problemsOf({ resource: 'projects/my-project-123', role: 'roles/compute.viewer', member: 'x' });

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('member');
  });
});

describe('resourceKind', () => {
  it.each([
    ['projects/my-project-123', 'projects'],
    ['folders/1', 'folders'],
    ['organizations/1', 'organizations'],
  ])('%s is one of the %s', (resource, kind) => {
    expect(resourceKind(resource)).toBe(kind);
  });
});
