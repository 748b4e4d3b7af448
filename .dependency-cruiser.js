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
