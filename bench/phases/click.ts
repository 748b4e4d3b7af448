/** The click phase: Approve clicks at a steady rate, timed until the fake cloud receives each grant call. */
import { ACTION_IDS } from '../../src/slack/ids';
import { blockActionsBody } from '../../test/support/slack-payloads';
import { BENCH_APPROVER } from '../bench-bot';
import { type BotRun, postSigned } from '../driver';
import { fakeCloudKeys } from '../latency-provider';
import { type Summary, sleepUntil, summarize, waitUntil } from '../stats';

export interface ClickResult {
  /** From sending the click to the fake cloud receiving the grant call. */
  toGrantCall: Summary;
  /** The first part of it: from the click to the approval being committed (the rest is the grant job). */
  toApproved: Summary;
}

/** Approves requests by clicking their approval messages; measures until the cloud's grant call is issued. */
export async function clickPhase(run: BotRun, requestIds: string[], clicksPerSecond: number): Promise<ClickResult> {
  const { bot, view, redis, prefix, http } = run;
  const { store } = view;
  await waitUntil(
    async () => (await Promise.all(requestIds.map((id) => store.getApprovalMessage(id)))).every(Boolean),
    60_000,
    'the approval messages',
  );
  const sentAt = new Map<string, number>();
  // Clicks come at the same steady rate as the commands, each on its own schedule (open loop).
  const started = Date.now();
  await Promise.all(
    requestIds.map(async (id, index) => {
      await sleepUntil(started + (index * 1000) / clicksPerSecond);
      const message = await store.getApprovalMessage(id);
      if (!message) throw new Error(`bench: no approval message for ${id}`);
      const body = blockActionsBody({
        userId: BENCH_APPROVER,
        actionId: ACTION_IDS.approve,
        value: id,
        channelId: message.channel,
        messageTs: message.ts,
      });
      sentAt.set(id, Date.now());
      await postSigned(bot, body, http);
    }),
  );
  const { grantCalls } = fakeCloudKeys(prefix);
  await waitUntil(
    async () => (await redis.hmget(grantCalls, ...requestIds)).every((value) => value !== null),
    60_000,
    'the grant calls',
  );
  const calls = await redis.hmget(grantCalls, ...requestIds);
  const approvedAt = new Map<string, number>();
  const clicked = new Set(requestIds);
  for await (const entry of view.auditLog.entries(Math.min(...sentAt.values()))) {
    if (entry.type === 'transition' && entry.to === 'approved' && clicked.has(entry.requestId)) {
      approvedAt.set(entry.requestId, entry.at);
    }
  }
  return {
    toGrantCall: summarize(requestIds.map((id, index) => Number(calls[index]) - (sentAt.get(id) ?? 0))),
    toApproved: summarize(requestIds.map((id) => (approvedAt.get(id) ?? Number.NaN) - (sentAt.get(id) ?? 0))),
  };
}
