import { SYSTEM_ACTORS } from '../../../../src/domain/access-request';
import {
  actorName,
  escapeMrkdwn,
  escapeMrkdwnWithin,
  requestIdCode,
  slackTime,
  utcTime,
} from '../../../../src/slack/blocks/format';

describe('escapeMrkdwn', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here>', '&lt;!here&gt;'],
    ['<!everyone>', '&lt;!everyone&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['<#C123>', '&lt;#C123&gt;'],
    ['<https://x|y>', '&lt;https://x|y&gt;'],
    ['R&D', 'R&amp;D'],
    ['&lt;', '&amp;lt;'],
    ['plain *bold* _it_ `code`', 'plain *bold* _it_ `code`'],
    ['', ''],
  ])('%j → %j', (text, expected) => {
    expect(escapeMrkdwn(text)).toBe(expected);
  });

  it('leaves no control character behind', () => {
    const escaped = escapeMrkdwn('a <!channel> & <https://evil|click> > <@U1>');
    expect(escaped).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
  });
});

describe('utcTime', () => {
  const at = Date.UTC(2026, 10, 24, 17, 5, 42);

  it('shows only the time on the same UTC day as the reference', () => {
    expect(utcTime(at, Date.UTC(2026, 10, 24, 0, 0))).toBe('17:05 UTC');
    expect(utcTime(at, Date.UTC(2026, 10, 24, 23, 59))).toBe('17:05 UTC');
  });

  it('shows the date on another day or without a reference', () => {
    expect(utcTime(at, Date.UTC(2026, 10, 23, 23, 59))).toBe('2026-11-24 17:05 UTC');
    expect(utcTime(at, Date.UTC(2026, 10, 25, 0, 0))).toBe('2026-11-24 17:05 UTC');
    expect(utcTime(at)).toBe('2026-11-24 17:05 UTC');
  });
});

describe('slackTime', () => {
  it('is a Slack date token with the UTC fallback', () => {
    const at = Date.UTC(2026, 10, 24, 17, 5, 42, 900);
    expect(slackTime(at)).toBe(`<!date^${Math.floor(at / 1000)}^{date_short_pretty} {time}|2026-11-24 17:05 UTC>`);
    expect(slackTime(at)).toContain('<!date^1795539942^');
  });

  it('passes the reference to the fallback', () => {
    const at = Date.UTC(2026, 10, 24, 17, 5);
    expect(slackTime(at, at - 60_000)).toMatch(/\|17:05 UTC>$/);
  });
});

describe('actorName', () => {
  it.each([
    [SYSTEM_ACTORS.autoApprove, 'the policy (auto-approved)'],
    [SYSTEM_ACTORS.approvalTimeout, 'the approval timeout'],
    [SYSTEM_ACTORS.grantJob, 'the bot'],
    [SYSTEM_ACTORS.expiry, 'expiry'],
    ['system:future-thing', 'system:future-thing'],
    ['U0LEAD', '<@U0LEAD>'],
    ['W0ENTERPRISE', '<@W0ENTERPRISE>'],
  ])('%s → %s', (actor, expected) => {
    expect(actorName(actor)).toBe(expected);
  });
});

describe('requestIdCode', () => {
  it('wraps the ID in backticks', () => {
    expect(requestIdCode('k7m2xq9d')).toBe('`k7m2xq9d`');
  });
});

describe('escapeMrkdwnWithin', () => {
  it('escapes like escapeMrkdwn when the result fits', () => {
    expect(escapeMrkdwnWithin('a <b> & c', 100)).toBe(escapeMrkdwn('a <b> & c'));
    expect(escapeMrkdwnWithin('12345', 5)).toBe('12345');
  });

  it('cuts the escaped text to the limit with an ellipsis, never inside an escape', () => {
    const cut = escapeMrkdwnWithin('&'.repeat(1000), 3000);
    expect(cut.length).toBeLessThanOrEqual(3000);
    expect(cut.endsWith('&amp;…')).toBe(true);
    expect(escapeMrkdwnWithin('ab&', 6)).toBe('ab…');
    expect(escapeMrkdwnWithin('123456', 5)).toBe('1234…');
  });

  it('continues a quote on each new line when asked', () => {
    expect(escapeMrkdwnWithin('one\ntwo', 100, { quote: true })).toBe('one\n>two');
    expect(escapeMrkdwnWithin('one\ntwo', 100)).toBe('one\ntwo');
  });
});
