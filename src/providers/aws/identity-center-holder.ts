import { z } from 'zod';
import type { GrantCheckpoints } from '../../domain/ports';

/**
 * Who holds the account assignment a request relies on. `bot`: this request made it (or will), so its end
 * deletes it. `standing`: it was there when the request was granted (a permanent assignment, or another of the
 * person's requests), so this request leaves it alone.
 */
export type AssignmentHolder = 'bot' | 'standing';

/** The assignment a request relies on and who holds it, as recorded for that request. */
export interface HolderRecord {
  holder: AssignmentHolder;
  userId: string;
  identityStoreId: string;
  accountId: string;
  permissionSetArn: string;
}

/** The checkpoint as stored: strings only, with its kind so another provider's entry is never misread. */
const checkpointSchema = z.object({
  kind: z.literal('identity-center'),
  holder: z.enum(['bot', 'standing']),
  userId: z.string().min(1),
  identityStoreId: z.string().min(1),
  accountId: z.string().min(1),
  permissionSetArn: z.string().min(1),
});

export function toCheckpoint(record: HolderRecord): Record<string, string> {
  return { kind: 'identity-center', ...record };
}

/** The record in a checkpoint; undefined when it is absent or is not an Identity Center one. */
export function fromCheckpoint(checkpoint: Readonly<Record<string, string>> | undefined): HolderRecord | undefined {
  const parsed = checkpointSchema.safeParse(checkpoint);
  if (!parsed.success) return undefined;
  const { kind: _kind, ...record } = parsed.data;
  return record;
}

export function sameRecord(a: HolderRecord | undefined, b: HolderRecord): boolean {
  return (
    a !== undefined &&
    a.holder === b.holder &&
    a.userId === b.userId &&
    a.identityStoreId === b.identityStoreId &&
    a.accountId === b.accountId &&
    a.permissionSetArn === b.permissionSetArn
  );
}

/**
 * Checkpoints kept in this process only: a restart forgets them, so a grant retried after a crash could take the
 * assignment it had made for a standing one. For tests and one-off tools; the bot itself passes the Redis ones.
 */
export class ProcessGrantCheckpoints implements GrantCheckpoints {
  private readonly entries = new Map<string, Readonly<Record<string, string>>>();

  async get(requestId: string): Promise<Readonly<Record<string, string>> | undefined> {
    return this.entries.get(requestId);
  }

  async set(requestId: string, checkpoint: Readonly<Record<string, string>>): Promise<void> {
    this.entries.set(requestId, { ...checkpoint });
  }
}
