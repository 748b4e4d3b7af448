import fc from 'fast-check';
import { parseJitCommand } from '../../../../src/slack/commands/parse-jit-command';

const KINDS = ['help', 'form', 'roles', 'list', 'request', 'cancel', 'revoke', 'status', 'audit', 'invalid'];

/** The message of an `invalid` result; fails the test for any other kind. */
function invalidMessage(text: string): string {
  const command = parseJitCommand(text);
  if (command.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(command)}`);
  return command.message;
}

describe('parseJitCommand', () => {
  describe('help', () => {
    it.each(['help', 'HELP', '  Help  ', 'help me please'])('%j is help', (text) => {
      expect(parseJitCommand(text)).toEqual({ kind: 'help' });
    });
  });

  describe('the request form', () => {
    it.each(['', '   ', '\n\t', 'request', 'request   '])('%j opens the empty form', (text) => {
      expect(parseJitCommand(text)).toEqual({ kind: 'form' });
    });

    it('a request without a reason opens the form prefilled with the role and duration', () => {
      expect(parseJitCommand('request db')).toEqual({ kind: 'form', roleId: 'db' });
      expect(parseJitCommand('request DB 2h')).toEqual({ kind: 'form', roleId: 'db', duration: '2h' });
      expect(parseJitCommand('request db 2h   ')).toEqual({ kind: 'form', roleId: 'db', duration: '2h' });
    });
  });

  describe('roles and list', () => {
    it.each([
      ['roles', 'roles'],
      ['ROLES', 'roles'],
      ['  list ', 'list'],
      ['List', 'list'],
    ])('%j is %s', (text, kind) => {
      expect(parseJitCommand(text)).toEqual({ kind });
    });

    it.each([
      ['roles all', '`/jit roles` takes nothing after it.'],
      ['list mine', '`/jit list` takes nothing after it.'],
    ])('%j with extra words is invalid', (text, message) => {
      expect(parseJitCommand(text)).toEqual({ kind: 'invalid', message });
    });
  });

  describe('request', () => {
    it('takes role, duration and reason', () => {
      expect(parseJitCommand('request sandbox-admin 2h debugging INC-42')).toEqual({
        kind: 'request',
        roleId: 'sandbox-admin',
        duration: '2h',
        reason: 'debugging INC-42',
      });
    });

    it('takes several roles joined by commas as a bundle, the first as roleId', () => {
      expect(parseJitCommand('request Sandbox-Admin,db-reader 1h debugging INC-42')).toEqual({
        kind: 'request',
        roleId: 'sandbox-admin',
        bundle: ['sandbox-admin', 'db-reader'],
        duration: '1h',
        reason: 'debugging INC-42',
      });
      expect(parseJitCommand('request a,b, reason here')).toEqual({
        kind: 'request',
        roleId: 'a',
        bundle: ['a', 'b'],
        reason: 'reason here',
      });
      expect(parseJitCommand('request a, 1h reason')).toEqual({
        kind: 'request',
        roleId: 'a',
        duration: '1h',
        reason: 'reason',
      });
      expect(parseJitCommand('request a,b!c 1h reason')).toMatchObject({ kind: 'invalid' });
      expect(parseJitCommand('request , 1h reason')).toMatchObject({ kind: 'invalid' });
    });

    it('leaves the duration out when the second word does not start with a digit', () => {
      expect(parseJitCommand('request sandbox-admin debugging INC-42')).toEqual({
        kind: 'request',
        roleId: 'sandbox-admin',
        reason: 'debugging INC-42',
      });
    });

    it('treats a second word starting with a digit as a duration even if malformed', () => {
      expect(parseJitCommand('request db 2x why')).toEqual({
        kind: 'request',
        roleId: 'db',
        duration: '2x',
        reason: 'why',
      });
      expect(parseJitCommand('request db 42 is the answer')).toEqual({
        kind: 'request',
        roleId: 'db',
        duration: '42',
        reason: 'is the answer',
      });
    });

    it('keeps the spacing inside a multi-word reason and trims its ends', () => {
      expect(parseJitCommand('request db 1h30m   fix   the\n  thing  ')).toEqual({
        kind: 'request',
        roleId: 'db',
        duration: '1h30m',
        reason: 'fix   the\n  thing',
      });
      expect(parseJitCommand('request db   look  at\tlogs')).toEqual({
        kind: 'request',
        roleId: 'db',
        reason: 'look  at\tlogs',
      });
    });

    it('lowercases the role ID but not the duration or reason', () => {
      expect(parseJitCommand('REQUEST Sandbox-ADMIN 2H Fix PROD')).toEqual({
        kind: 'request',
        roleId: 'sandbox-admin',
        duration: '2H',
        reason: 'Fix PROD',
      });
    });

    it('keeps mrkdwn control characters of the reason as typed (escaping happens when rendering)', () => {
      expect(parseJitCommand('request db 1h <!channel> & <@U1>')).toMatchObject({ reason: '<!channel> & <@U1>' });
    });
  });

  describe('request … at <start>', () => {
    it.each([
      ['request db 2h patching at 2026-12-01 22:00', '2026-12-01 22:00'],
      ['request db 2h patching  AT  2026-12-01T22:00+01:00 ', '2026-12-01T22:00+01:00'],
      ['request db 2h patching at 2026-12-01T22:00:00Z', '2026-12-01T22:00:00Z'],
      ['request db 2h patching at 2026-12-01 22:00-0500', '2026-12-01 22:00-0500'],
    ])('%j takes the start off the reason', (text, start) => {
      expect(parseJitCommand(text)).toEqual({
        kind: 'request',
        roleId: 'db',
        duration: '2h',
        reason: 'patching',
        start,
      });
    });

    it('works with the role’s default duration', () => {
      expect(parseJitCommand('request db window OPS-7 at 2026-12-01 22:00')).toEqual({
        kind: 'request',
        roleId: 'db',
        reason: 'window OPS-7',
        start: '2026-12-01 22:00',
      });
    });

    it('passes a start that looks like a date or a time but does not parse on, for the domain to refuse', () => {
      expect(parseJitCommand('request db 2h patching at 2026-13-45 25:99')).toMatchObject({
        start: '2026-13-45 25:99',
      });
      expect(parseJitCommand('request db 2h patching at 22:00')).toMatchObject({ reason: 'patching', start: '22:00' });
    });

    it('leaves any other "at" in the reason', () => {
      expect(parseJitCommand('request db 2h look at logs')).toEqual({
        kind: 'request',
        roleId: 'db',
        duration: '2h',
        reason: 'look at logs',
      });
      expect(parseJitCommand('request db 2h restart at 3 nodes')).toMatchObject({ reason: 'restart at 3 nodes' });
      expect(parseJitCommand('request db 2h at 2026-12-01 22:00 in the window')).toMatchObject({
        reason: 'at 2026-12-01 22:00 in the window',
      });
    });

    it('a start without a reason says what is missing', () => {
      expect(parseJitCommand('request db 2h at 2026-12-01 22:00')).toEqual({
        kind: 'invalid',
        message: 'Say why you need it before the start: `/jit request <role> <duration> <reason> at 2026-12-01 22:00`.',
      });
    });
  });

  describe.each(['cancel', 'revoke', 'status'] as const)('%s', (verb) => {
    it('takes one request ID, lowercased', () => {
      expect(parseJitCommand(`${verb} K7M2XQ9D`)).toEqual({ kind: verb, requestId: 'k7m2xq9d' });
      expect(parseJitCommand(`  ${verb.toUpperCase()}   k7m2xq9d  `)).toEqual({ kind: verb, requestId: 'k7m2xq9d' });
    });

    it('strips the backticks of a pasted code span', () => {
      expect(parseJitCommand(`${verb} \`k7m2xq9d\``)).toEqual({ kind: verb, requestId: 'k7m2xq9d' });
      expect(parseJitCommand(`${verb} \`K7M2XQ9D`)).toEqual({ kind: verb, requestId: 'k7m2xq9d' });
    });

    it('without an ID asks for one and points to list', () => {
      expect(parseJitCommand(verb)).toEqual({
        kind: 'invalid',
        message: `Say which request: \`/jit ${verb} <request ID>\`. \`/jit list\` shows your requests and their IDs.`,
      });
    });

    it('with more than an ID is invalid', () => {
      expect(parseJitCommand(`${verb} k7m2xq9d now`)).toEqual({
        kind: 'invalid',
        message: `\`/jit ${verb}\` takes one request ID, e.g. \`/jit ${verb} k7m2xq9d\`.`,
      });
    });
  });

  describe('audit', () => {
    it.each([
      ['audit', {}],
      ['AUDIT  ', {}],
      ['audit 7d', { since: '7d' }],
      ['audit 1d12h', { since: '1d12h' }],
      ['audit 2026-03-01', { since: '2026-03-01' }],
      ['audit 2026-03-01T08:00:00Z', { since: '2026-03-01T08:00:00Z' }],
      ['audit k7m2xq9d', { requestId: 'k7m2xq9d' }],
      ['audit `K7M2XQ9D`', { requestId: 'k7m2xq9d' }],
      ['audit 7d k7m2xq9d', { since: '7d', requestId: 'k7m2xq9d' }],
      ['audit k7m2xq9d 7d', { since: '7d', requestId: 'k7m2xq9d' }],
      // An ID may start with a digit; it is an ID unless it also reads as a duration.
      ['audit 23abcdef', { requestId: '23abcdef' }],
      ['audit 2d3h4m5s', { since: '2d3h4m5s' }],
      // Meant as a time, malformed: the use case explains the accepted forms.
      ['audit 7days', { since: '7days' }],
    ])('%j', (text, fields) => {
      expect(parseJitCommand(text)).toEqual({ kind: 'audit', ...fields });
    });

    it.each([
      ['audit 7d 1h', '`/jit audit` takes one since:'],
      ['audit k7m2xq9d abcdefgh', '`/jit audit` takes one request ID:'],
      ['audit 7d k7m2xq9d extra', '`/jit audit` takes at most a since and a request ID:'],
      ['audit ``', 'Say which request, or leave it out:'],
    ])('%j is invalid: %s', (text, message) => {
      expect(invalidMessage(text)).toContain(message);
      expect(invalidMessage(text)).toContain('`/jit audit [since] [request ID]`, e.g. `/jit audit 7d`');
    });
  });

  describe('unknown verbs', () => {
    it('lists the subcommands', () => {
      expect(parseJitCommand('grant me admin')).toEqual({
        kind: 'invalid',
        message:
          '"grant" is not a /jit command. Use one of: help, roles, list, request, cancel, revoke, status. `/jit help` explains each.',
      });
    });

    it('escapes mrkdwn so the echo cannot ping or link', () => {
      const message = invalidMessage('<!channel> hello');
      expect(message).not.toContain('<!channel>');
      expect(message).toContain('"&lt;!channel&gt;" is not a /jit command.');
      const link = invalidMessage('<https://evil.example|click>');
      expect(link).not.toMatch(/<https?:/);
      expect(link).toContain('&lt;https://evil.example|click&gt;');
    });

    it('truncates a long verb to 40 characters', () => {
      const message = invalidMessage('x'.repeat(100));
      expect(message.startsWith(`"${'x'.repeat(40)}…" is not`)).toBe(true);
    });

    it('keeps the case of the verb it echoes', () => {
      expect(invalidMessage('Grant')).toMatch(/^"Grant" is not/);
    });
  });

  describe('properties', () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.string({ unit: 'binary', minLength: 500, maxLength: 5_000 }),
      fc
        .tuple(
          fc.constantFrom(
            '',
            ' ',
            'help',
            'roles',
            'list',
            'request',
            'cancel',
            'revoke',
            'status',
            'audit',
            'AUDIT',
            'REQUEST',
            '<!here>',
          ),
          fc.string({ unit: 'binary' }),
        )
        .map(([verb, rest]) => `${verb} ${rest}`),
    );

    it('never throws and always returns a known kind', () => {
      fc.assert(
        fc.property(anyText, (text) => {
          const command = parseJitCommand(text);
          expect(KINDS).toContain(command.kind);
        }),
        { numRuns: 1_000 },
      );
    });

    it('never echoes a raw < or > back in an invalid message', () => {
      fc.assert(
        fc.property(anyText, (text) => {
          const command = parseJitCommand(text);
          if (command.kind === 'invalid') {
            const withoutPlaceholders = command.message.replace(/<(request ID|role|duration|reason)>/g, '');
            expect(withoutPlaceholders).not.toMatch(/[<>]/);
          }
        }),
        { numRuns: 1_000 },
      );
    });

    it('audit takes at most one since and one lowercase request ID, each a single word', () => {
      fc.assert(
        fc.property(anyText, (text) => {
          const command = parseJitCommand(`audit ${text}`);
          expect(['audit', 'invalid']).toContain(command.kind);
          if (command.kind === 'audit') {
            for (const word of [command.since, command.requestId]) {
              if (word !== undefined) expect(word).toMatch(/^\S+$/);
            }
            if (command.requestId !== undefined) expect(command.requestId).toBe(command.requestId.toLowerCase());
          }
        }),
        { numRuns: 500 },
      );
    });

    it('request role IDs are lowercase single words and reasons are trimmed', () => {
      fc.assert(
        fc.property(anyText, (text) => {
          const command = parseJitCommand(`request ${text}`);
          if (command.kind === 'request') {
            expect(command.roleId).toBe(command.roleId.toLowerCase());
            expect(command.roleId).not.toMatch(/\s/);
            expect(command.reason).toBe(command.reason.trim());
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});
