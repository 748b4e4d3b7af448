/** The layout is the architecture: these rules keep each layer to its own concerns. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ decides and talks to ports only: no SDK, no Bolt, no Redis, no other layer.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/'] },
    },
    {
      name: 'jobs-never-import-slack',
      comment: 'Jobs do deferred work through ports; Slack is reached through the Notifier port.',
      severity: 'error',
      from: { path: '^src/jobs/' },
      to: { path: ['^src/slack/', '@slack/bolt'] },
    },
    {
      name: 'providers-stay-behind-the-port',
      comment: 'Providers touch clouds; they do not know Slack, jobs or the store.',
      severity: 'error',
      from: { path: '^src/providers/' },
      to: { path: ['^src/slack/', '^src/jobs/', '^src/store/', '@slack/'] },
    },
    {
      name: 'slack-never-touches-clouds-or-store',
      comment: 'Listeners call use cases; they never reach a provider or the store directly.',
      severity: 'error',
      from: { path: '^src/slack/' },
      to: { path: ['^src/providers/', '^src/store/', '^src/jobs/'] },
    },
    {
      name: 'config-knows-no-provider',
      comment:
        'config/ reads settings and the policy; what each provider adds (target schemas, IAM power, propagation) is ' +
        'passed in by the caller, so config never imports a provider.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/providers/' },
    },
    {
      name: 'lib-is-a-leaf',
      comment:
        'lib/ is plumbing any layer may use (logger, metrics, the wall clock); it imports no other part of src/. ' +
        'Something that needs a domain type is an adapter or belongs to the domain.',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
