import type { AuditEntry } from '../../src/domain/audit-event';
import { AUDIT_CSV_COLUMNS, csvField } from '../../src/domain/audit-format';
import { readCsv } from '../support/csv-reader';
import { FILE_UPLOAD } from '../support/fake-slack-api';
import { startTestBot, type TestBot } from '../support/test-bot';
import { TEST_POLICY, USERGROUPS } from './test-policy';

/** The shared test policy with admins: one by user ID, the rest through a user group. */
const POLICY = TEST_POLICY.replace(
  'settings:\n',
  'settings:\n  admins:\n    users: [U0SEC]\n    usergroups: [S0AUDITORS]\n',
);

/** What each CSV record must hold for an audit entry. */
function expectedRecord(entry: AuditEntry): string[] {
  return [
    entry.streamId,
    new Date(entry.at).toISOString(),
    entry.type,
    entry.requestId ?? '',
    entry.type === 'transition' ? entry.from : '',
    entry.type === 'transition' ? entry.to : '',
    entry.actor,
    entry.reason,
  ];
}

describe('/jit audit', () => {
  let bot: TestBot;
  beforeEach(async () => {
    bot = await startTestBot({ policyYaml: POLICY, usergroups: { ...USERGROUPS, S0AUDITORS: ['U0AUDITOR'] } });
  });
  afterEach(async () => {
    await bot.stop();
  });

  async function trail(): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    for await (const entry of bot.container.auditLog.entries()) entries.push(entry);
    return entries;
  }

  /** Some history: an approved grant, an auto-approved one, a cancelled request with an awkward reason. */
  async function someHistory(): Promise<{ approved: string; cancelled: string }> {
    const approved = (await bot.requestApproved('U0ALICE', 'sandbox-admin 1h debugging INC-42', 'U0LEAD')).id;
    await bot.request('U0BOB', 'staging-deployer 5m deploy');
    const cancelled = await bot.request('U0BOB', 'sandbox-admin 1h fix, "the" thing\nsecond line');
    expect(await bot.commandText('U0BOB', `cancel ${cancelled}`)).toContain('is cancelled');
    return { approved, cancelled };
  }

  it('refuses someone who is not an admin, saying who may, and sends nothing', async () => {
    await someHistory();
    bot.slack.clear();
    const reply = await bot.commandText('U0ALICE', 'audit');
    expect(reply).toBe(
      ":no_entry: Only the bot's admins may export the audit trail: <@U0SEC> and members of <!subteam^S0AUDITORS>. Ask one of them, or ask your platform team to add you to `settings.admins` in the policy.",
    );
    // The refusal is in the acknowledgement; once the bot has finished handling the command, nothing more came.
    await bot.handled();
    expect(bot.slack.calls().filter((call) => call.method.startsWith('files.') || call.method === FILE_UPLOAD)).toEqual(
      [],
    );
    expect(bot.slack.uploads()).toEqual([]);
    const notes = await bot.container.auditLog.notes({ kind: 'refusal' });
    expect(notes).toMatchObject([{ type: 'refusal', actor: 'U0ALICE', reason: 'audit export refused: not an admin' }]);
  });

  it('sends an admin the trail as a CSV file in their DM, after an ephemeral summary', async () => {
    await someHistory();
    const entries = await trail();
    expect(entries.length).toBeGreaterThanOrEqual(8);

    const reply = await bot.commandText('U0SEC', 'audit');
    expect(reply).toMatch(
      new RegExp(
        `^:ledger: ${entries.length} audit entries since <!date\\^\\d+\\^.*>: the CSV is on its way to your DM\\.$`,
      ),
    );

    const completed = await bot.slack.waitFor('files.completeUploadExternal');
    expect(bot.slack.calls('conversations.open')).toMatchObject([{ args: { users: 'U0SEC' } }]);
    expect(completed.args).toMatchObject({ channel_id: 'D0SEC' });
    expect(String(completed.args.initial_comment)).toContain(`${entries.length} entries, oldest first`);
    const [upload] = bot.slack.uploads();
    expect(upload).toMatchObject({ completed: true, channelId: 'D0SEC', filename: expect.stringMatching(/\.csv$/) });

    const records = readCsv(upload?.content?.toString('utf8') ?? '');
    expect(records[0]).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(records.slice(1)).toEqual(entries.map(expectedRecord));
    // The awkward reason survived the trip: comma, quotes and newline.
    expect(records.some((record) => record[7] === 'fix, "the" thing\nsecond line')).toBe(true);
    expect(upload?.content?.toString('utf8')).toContain(csvField('fix, "the" thing\nsecond line'));
  });

  it('lets members of an admin user group export one request since a date', async () => {
    const { cancelled } = await someHistory();
    const entries = (await trail()).filter((entry) => entry.requestId === cancelled);
    expect(entries.map((entry) => entry.type === 'transition' && entry.to)).toEqual(['pending', 'cancelled']);

    const reply = await bot.commandText('U0AUDITOR', `audit 2000-01-01 ${cancelled.toUpperCase()}`);
    expect(reply).toContain(`:ledger: 2 audit entries since`);
    expect(reply).toContain(`about \`${cancelled}\``);

    await bot.slack.waitFor('files.completeUploadExternal');
    const records = readCsv(bot.slack.uploads()[0]?.content?.toString('utf8') ?? '');
    expect(records.slice(1)).toEqual(entries.map(expectedRecord));
    expect(bot.slack.uploads()[0]?.channelId).toBe('D0AUDITOR');
  });

  it('sends no file when nothing matched', async () => {
    await bot.request('U0BOB', 'staging-deployer 5m deploy');
    const reply = await bot.commandText('U0SEC', 'audit 1h abcdefgh');
    expect(reply).toMatch(
      /^:ledger: There are no audit entries since .* about `abcdefgh`; there is nothing to send\.$/,
    );
    await bot.handled();
    expect(bot.slack.calls('files.getUploadURLExternal')).toEqual([]);
    expect(bot.slack.uploads()).toEqual([]);
  });

  it.each([
    ['audit 7days', '"7days" is neither a time back from now (30m, 12h, 7d, 1d12h) nor a date'],
    ['audit 7d 1h', '`/jit audit` takes one since'],
  ])('/jit %s → a specific ephemeral error', async (text, expected) => {
    const reply = await bot.commandText('U0SEC', text);
    expect(reply.startsWith(':no_entry:')).toBe(true);
    expect(reply).toContain(expected);
  });

  it('tells the admin why, ephemerally, when Slack refuses the upload', async () => {
    await bot.request('U0BOB', 'staging-deployer 5m deploy');
    bot.slack.failNext('files.getUploadURLExternal', {
      body: { ok: false, error: 'missing_scope', needed: 'files:write', provided: 'chat:write,commands' },
    });
    const reply = await bot.commandText('U0SEC', 'audit');
    expect(reply).toContain('the CSV is on its way to your DM');

    const told = await bot.slack.waitFor('response_url');
    expect(told.args).toMatchObject({
      response_type: 'ephemeral',
      text: ':warning: Your audit export could not be delivered to your DM: the Slack app lacks the `files:write` scope; add it (manifest.yml lists it) and reinstall the app. Nothing was shared anywhere else.',
    });
    expect(bot.slack.calls('files.completeUploadExternal')).toEqual([]);
  });

  it('tells the admin when the file bytes could not be uploaded', async () => {
    await bot.request('U0BOB', 'staging-deployer 5m deploy');
    bot.slack.failNext(FILE_UPLOAD, { status: 500, body: 'upstream broke' });
    await bot.commandText('U0SEC', 'audit');
    const told = await bot.slack.waitFor('response_url');
    expect(told.args.text).toBe(
      ':warning: Your audit export could not be delivered to your DM: Slack answered HTTP 500; try again in a minute. Nothing was shared anywhere else.',
    );
    expect(bot.slack.calls('files.completeUploadExternal')).toEqual([]);
  });
});
