import type { SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { AuditEntry } from '../../../../src/domain/audit-event';
import type { AuditExport, AuditService } from '../../../../src/domain/audit-service';
import { createLogger } from '../../../../src/lib/logger';
import { handleAuditCommand } from '../../../../src/slack/commands/audit-command';
import type { SlackDeps } from '../../../../src/slack/slack-deps';
import { T0 } from '../../fixtures';

const entry: AuditEntry = {
  type: 'transition',
  streamId: `${T0}-0`,
  requestId: 'k7m2xq9d',
  from: 'none',
  to: 'pending',
  actor: 'U0ALICE',
  reason: 'why',
  at: T0,
};

function setup(exportFor: AuditService['exportFor'], upload: () => Promise<unknown> = async () => ({ ok: true })) {
  const acks: unknown[] = [];
  const responses: unknown[] = [];
  const uploads: Record<string, unknown>[] = [];
  const client = {
    conversations: { open: async () => ({ ok: true, channel: { id: 'D0SEC' } }) },
    filesUploadV2: async (args: Record<string, unknown>) => {
      uploads.push(args);
      return upload();
    },
  } as unknown as WebClient;
  const deps = {
    audit: { exportFor } as unknown as AuditService,
    clock: { now: () => T0 },
    logger: createLogger({ level: 'silent' }),
  } as unknown as SlackDeps;
  const command = { user_id: 'U0SEC', team_id: 'T0TEAM', text: 'audit' } as SlashCommand;
  const run = () =>
    handleAuditCommand(
      { kind: 'audit' },
      {
        command,
        ack: async (message) => {
          acks.push(message);
        },
        respond: async (message) => {
          responses.push(message);
          return new Response();
        },
        client,
      },
      deps,
    );
  return { acks, responses, uploads, run };
}

describe('handleAuditCommand', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('acks at once when the read is slow, then answers through the response URL and uploads', async () => {
    jest.useFakeTimers({ now: T0 });
    let finish: (exported: AuditExport) => void = () => {};
    const slow = new Promise<AuditExport>((resolve) => {
      finish = resolve;
    });
    const { acks, responses, uploads, run } = setup(() => slow);
    const done = run();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(acks).toEqual([{ response_type: 'ephemeral', text: ':hourglass_flowing_sand: Reading the audit trail…' }]);
    expect(responses).toEqual([]);

    finish({ sinceMs: T0 - 1, entries: [entry], truncated: false });
    await done;
    expect(responses).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: true,
        text: expect.stringContaining(':ledger: 1 audit entry since'),
      },
    ]);
    expect(uploads).toMatchObject([{ channel_id: 'D0SEC', filename: expect.stringMatching(/\.csv$/) }]);
    expect(String(uploads[0]?.content)).toContain('k7m2xq9d,none,pending,U0ALICE,why');
  });

  it('tells the admin why an upload failed, with the error text escaped', async () => {
    const { acks, responses, run } = setup(
      async (_actor, sinceMs) => ({ sinceMs, entries: [entry], truncated: false }),
      async () => {
        throw new Error('Failed to upload <file> & more');
      },
    );
    await run();
    expect(acks).toMatchObject([{ text: expect.stringContaining('the CSV is on its way to your DM') }]);
    expect(responses).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: ':warning: Your audit export could not be delivered to your DM: the upload failed (Failed to upload &lt;file&gt; &amp; more). Nothing was shared anywhere else.',
      },
    ]);
  });
});
