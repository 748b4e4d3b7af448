import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Policy } from '../domain/policy';
import type { Alerter, AuditLog, Clock, PolicySource } from '../domain/ports';
import type { Logger } from '../lib/logger';
import { ConfigError } from './config-error';
import { describeChanges, nothingChanged, type PolicyChanges, policyChanges } from './policy-changes';

/** What asked for the reload: an operator's SIGHUP, or the file watcher. */
export type ReloadTrigger = 'SIGHUP' | 'file-change';

export type ReloadOutcome =
  | { outcome: 'applied'; changes: PolicyChanges }
  /** The file holds the policy already in force (or, seen by the watcher, the text it saw last). */
  | { outcome: 'unchanged' }
  | { outcome: 'rejected'; problems: string[] };

/**
 * How long one process's report (alert, audit entry) of a reload outcome stands for every replica's. Replicas see a
 * ConfigMap change within a minute or two of each other; the same change made again after this is reported again.
 */
export const POLICY_REPORT_WINDOW_MS = 15 * 60_000;

/** Editors and ConfigMap updates touch the directory several times in a row; one reload follows the last. */
export const POLICY_WATCH_DEBOUNCE_MS = 300;

/**
 * The policy in force. Replacing it swaps one reference: a decision reads `current()` and sees the whole old policy
 * or the whole new one, never a mix.
 */
export class ReloadablePolicy implements PolicySource {
  constructor(private policy: Policy) {}

  current(): Policy {
    return this.policy;
  }

  replace(next: Policy): void {
    this.policy = next;
  }
}

export interface PolicyReloaderDeps {
  /** The policy file, as `JIT_POLICY_FILE` names it. */
  file: string;
  policy: ReloadablePolicy;
  /** Reads the file. @throws ConfigError when it is missing or unreadable */
  read(file: string): string;
  /** Validates the text with the loader used at start. @throws ConfigError listing every problem */
  parse(text: string): Policy;
  /** Why `next` cannot be put in force without a restart, one sentence each; empty when it can. */
  needsRestart(next: Policy): string[];
  /** Runs once `next` is in force, for what was built from the policy (the reconciler's schedule). */
  onApplied?(next: Policy, previous: Policy): Promise<void>;
  alerter: Alerter;
  audit: AuditLog;
  /**
   * True for the first process to claim `key`. Every replica reloads the same file: each logs, one alerts and
   * audits.
   */
  claimOnce(key: string): Promise<boolean>;
  clock: Clock;
  logger: Logger;
  debounceMs?: number;
}

/**
 * Reloads the policy file on SIGHUP and when it changes, through the same validation as at start. A file that fails
 * it (or needs a restart) leaves the policy in force untouched and alerts the admin channel with every problem.
 */
export class PolicyReloader {
  private readonly file: string;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** The text the last reload read, so the watcher ignores changes to other files of the directory. */
  private lastText: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PolicyReloaderDeps) {
    this.file = resolve(deps.file);
  }

  /**
   * Watches the file's directory, not the file: an editor's save-as-rename or a ConfigMap update (a `..data`
   * symlink swapped by rename) replaces the file, and a watch on the old file would see nothing more. Any event in
   * the directory re-reads the file; unchanged text is ignored.
   */
  start(): void {
    if (this.watcher !== undefined) return;
    this.watcher = watch(dirname(this.file), { persistent: false }, () => this.scheduleReload());
    this.watcher.on('error', (error) =>
      this.deps.logger.warn(
        { err: error, file: this.file },
        'cannot watch the policy file any more; SIGHUP still reloads it',
      ),
    );
    // The file may have changed between the start-up read and the watch.
    this.scheduleReload();
  }

  stop(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Reads, validates and puts the file in force; reloads run one at a time. Never throws. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.reloadNow(trigger));
    this.queue = run.catch(() => undefined);
    return run.catch((error: unknown): ReloadOutcome => {
      this.deps.logger.error({ err: error, file: this.file, trigger }, 'policy reload failed unexpectedly');
      return { outcome: 'rejected', problems: [String(error)] };
    });
  }

  private scheduleReload(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload('file-change'), this.deps.debounceMs ?? POLICY_WATCH_DEBOUNCE_MS);
    this.debounce.unref();
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { logger } = this.deps;
    let text: string;
    try {
      text = this.deps.read(this.file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // A rename replaces the file atomically, so it is missing only when deleted (or written anew after a delete,
      // which the debounce has usually coalesced); the next event reads it again.
      this.lastText = undefined;
      return this.reject(trigger, error.problems, `unreadable: ${error.problems.join()}`);
    }
    if (trigger === 'file-change' && text === this.lastText) return { outcome: 'unchanged' };
    this.lastText = text;

    let next: Policy;
    try {
      next = this.deps.parse(text);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return this.reject(trigger, error.problems, digest(text));
    }
    const restart = this.deps.needsRestart(next);
    if (restart.length > 0) return this.reject(trigger, restart, digest(text));

    const previous = this.deps.policy.current();
    const changes = policyChanges(previous, next);
    if (nothingChanged(changes)) {
      logger[trigger === 'SIGHUP' ? 'info' : 'debug'](
        { file: this.file, trigger },
        'policy file read again: nothing changed',
      );
      return { outcome: 'unchanged' };
    }
    this.deps.policy.replace(next);
    const summary = describeChanges(changes);
    for (const warning of next.warnings) logger.warn({ policyFile: this.file }, `policy: ${warning}`);
    logger.info({ file: this.file, trigger, ...changes }, `policy reloaded: ${summary}`);
    await this.deps.onApplied?.(next, previous).catch((error: unknown) => {
      logger.warn({ err: error }, 'the reloaded policy is in force, but updating what depends on it failed');
    });
    if (await this.claim(`applied-${fingerprint(previous)}-${fingerprint(next)}`)) {
      await this.note(trigger, `policy ${this.file} reloaded (${trigger}): ${summary}`);
    }
    return { outcome: 'applied', changes };
  }

  private async reject(trigger: ReloadTrigger, problems: readonly string[], what: string): Promise<ReloadOutcome> {
    const list = [...problems];
    this.deps.logger.error(
      { file: this.file, trigger, problems: list },
      `policy file refused, the policy in force stays: ${list.join(' | ')}`,
    );
    if (await this.claim(`rejected-${fingerprint(this.deps.policy.current())}-${digest(what)}`)) {
      await this.deps.alerter.alert({
        kind: 'policy-rejected',
        details: { file: this.file, trigger, problems: list },
      });
      await this.note(trigger, `policy ${this.file} refused (${trigger}): ${list.join('; ')}`);
    }
    return { outcome: 'rejected', problems: list };
  }

  /** Claims the alert and audit of this outcome; when Redis cannot say, alerting twice beats not at all. */
  private async claim(key: string): Promise<boolean> {
    try {
      return await this.deps.claimOnce(key);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'could not check whether another process reported this policy reload');
      return true;
    }
  }

  private async note(trigger: ReloadTrigger, reason: string): Promise<void> {
    try {
      await this.deps.audit.note({
        kind: 'policy',
        actor: trigger === 'SIGHUP' ? 'SIGHUP' : 'policy-file-watch',
        reason,
        at: this.deps.clock.now(),
      });
    } catch (error) {
      this.deps.logger.error({ err: error, reason }, 'could not audit the policy reload');
    }
  }
}

/** A short name of the policy as the bot uses it, the same in every replica that loaded the same file. */
function fingerprint(policy: Policy): string {
  const { warnings: _warnings, ...decided } = policy;
  return digest(JSON.stringify(decided));
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
