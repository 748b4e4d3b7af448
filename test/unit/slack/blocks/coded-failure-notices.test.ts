import { stateLine } from '../../../../src/slack/blocks/approval-message';
import { requesterMessage, threadReply } from '../../../../src/slack/blocks/lifecycle-notices';
import { makeRequest, T0 } from '../../fixtures';

/** A grant the policy refused is stored coded; every notice writes the sentence from the code, as before. */
const failed = makeRequest({
  state: 'failed',
  decidedBy: 'U0LEAD',
  decidedAt: T0,
  failureReason: 'the policy no longer lets U0ALICE request sandbox-admin',
  grantRefusal: { code: 'requester_not_allowed', details: { requesterId: 'U0ALICE', roleId: 'sandbox-admin' } },
});

/** The sentence written from the code: the bot's own mention stays a live mention. */
const SENTENCE = 'the policy no longer lets <@U0ALICE> request sandbox-admin';

describe('notices of a grant the policy refused', () => {
  it('render the sentence from the code in the thread, the DM and the approval message', () => {
    expect(threadReply('failed', failed)).toBe(`:warning: Granting failed: ${SENTENCE}. Nothing is granted.`);
    expect(requesterMessage('failed', failed)).toBe(
      `:warning: Your request \`k7m2xq9d\` for *sandbox-admin* was approved, but granting failed: ${SENTENCE}. Nothing is granted; the approvers were told.`,
    );
    expect(stateLine(failed)).toContain(`granting failed: ${SENTENCE}. Nothing is granted.`);
  });

  it('escape a reason a cloud wrote, so it can neither mention nor link', () => {
    const { grantRefusal: _, ...fromProvider } = failed;
    const text = threadReply('failed', {
      ...fromProvider,
      failureReason: 'Azure said <!channel> <https://x.example|y>',
    });
    expect(text).toBe(
      ':warning: Granting failed: Azure said &lt;!channel&gt; &lt;https://x.example|y&gt;. Nothing is granted.',
    );
  });

  it('show the stored reason of a record without a code', () => {
    const { grantRefusal: _, ...old } = failed;
    expect(threadReply('failed', old)).toBe(
      ':warning: Granting failed: the policy no longer lets U0ALICE request sandbox-admin. Nothing is granted.',
    );
  });
});
