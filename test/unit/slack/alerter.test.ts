import type { Alert } from '../../../src/domain/ports';
import { alertBlocks } from '../../../src/slack/alerter';
import { alertText } from '../../../src/slack/domain-text';

/** The mrkdwn text of every block of an alert message. */
const textOf = (alert: Alert) => JSON.stringify(alertBlocks(alert));

describe('alertBlocks', () => {
  const breakGlass = (reason: string): Alert => ({
    kind: 'break-glass',
    requestId: 'k7m2xq9d',
    details: { requesterId: 'U0ALICE', roleId: 'emergency', durationMs: 30 * 60_000, reason },
    review: true,
  });

  it('keeps the bot’s own mention live and defuses what the requester wrote', () => {
    const text = textOf(breakGlass('prod is down <!channel> <@U0BOSS> <https://evil.example|login>'));
    expect(text).toContain('<@U0ALICE> used break-glass access');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0BOSS>');
    expect(text).not.toContain('<https://evil.example');
    expect(text).toContain('&lt;!channel&gt;');
    // The message's plain-text fallback notifies too: it is defused the same way.
    expect(alertText(breakGlass('<!channel>'))).not.toContain('<!channel>');
  });

  it('stays within a section block’s 3,000 characters with the longest reason, escaped', () => {
    const [section] = alertBlocks(breakGlass('&'.repeat(1_000)));
    const mrkdwn = section?.type === 'section' ? (section.text?.text ?? '') : '';
    expect(mrkdwn.length).toBeGreaterThan(1_000);
    expect(mrkdwn.length).toBeLessThanOrEqual(3_000);
  });

  it('defuses a description the cloud wrote', () => {
    const text = textOf({
      kind: 'drift',
      requestId: 'k7m2xq9d',
      details: { situation: 'left-behind', provider: 'gcp', description: 'binding <!here>', state: 'expired' },
    } as Alert);
    expect(text).not.toContain('<!here>');
  });
});

describe('the policy-rejected alert', () => {
  const rejected = (problems: string[]): Alert => ({
    kind: 'policy-rejected',
    details: { file: '/etc/jit/policy.yml', trigger: 'file-change', problems },
  });

  it('lists every problem of a bad file, defused, and says the policy in force stays', () => {
    const text = alertText(rejected(['roles[0].id: must be lowercase', 'roles[1].approvers: <!channel> name one']));
    expect(text).toContain('the policy in force stays unchanged');
    expect(text).toContain('• roles[0].id: must be lowercase');
    expect(text).toContain('• roles[1].approvers: &lt;!channel&gt; name one');
    expect(textOf(rejected(['x']))).not.toContain('Retry now');
  });

  it('stays within a section block’s 3,000 characters however many long problems there are', () => {
    const [section] = alertBlocks(rejected(Array.from({ length: 40 }, (_, i) => `roles[${i}]: ${'&'.repeat(500)}`)));
    const mrkdwn = section?.type === 'section' ? (section.text?.text ?? '') : '';
    expect(mrkdwn).toContain("…and 30 more in the bot's log.");
    expect(mrkdwn.length).toBeLessThanOrEqual(3_000);
  });
});
