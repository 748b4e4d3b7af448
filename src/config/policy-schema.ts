/**
 * Reads a policy file into a `Policy`: the file's shape (policy-file-shape.ts), then the rules that span fields,
 * then the defaults that depend on a role's risk and the providers' own defaults.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { formatDuration } from '../domain/duration';
import type { Policy, Role } from '../domain/policy';
import { ConfigError, formatIssues } from './config-error';
import {
  DAY_NAMES,
  DEFAULT_TICKET_PATTERN,
  type ParsedPolicy,
  type ParsedRole,
  policySchema,
} from './policy-file-shape';

export { DEFAULT_TICKET_PATTERN } from './policy-file-shape';

/** Each provider's schema for a role's `target:`, by provider name. */
export type TargetSchemas = Readonly<Record<string, z.ZodType>>;

/**
 * Per provider: why a target can change IAM itself (grant further access), or undefined. Such roles are treated as
 * `risk: high` unless the policy says otherwise.
 */
export type IamPowerDetectors = Readonly<
  Record<string, (target: Readonly<Record<string, unknown>>) => string | undefined>
>;

/**
 * Per provider: how long after a revocation its changes have propagated, in milliseconds, unless
 * `settings.propagation` says otherwise. Each provider declares its own (see `providers/registry.ts`).
 */
export type PropagationDefaults = Readonly<Record<string, number>>;

/** A role's risk, approvals and maximum once the defaults that depend on its risk are applied. */
function effectiveRole(role: ParsedRole, settings: ParsedPolicy['settings'], iamPower: IamPowerDetectors) {
  const power = iamPower[role.provider]?.(role.target);
  const risk = role.risk ?? (power !== undefined ? 'high' : 'low');
  return {
    power,
    risk,
    approvalsRequired: role.approvalsRequired ?? (risk === 'high' && !role.autoApprove && !role.breakGlass ? 2 : 1),
    maxDuration:
      role.maxDuration ??
      (risk === 'high' ? Math.min(settings.highRiskMaxDuration, settings.maxDuration) : settings.maxDuration),
  };
}

/**
 * Parses and validates a policy file's text. Every problem is reported with its path (`roles[2].maxDuration`),
 * not just the first.
 * @throws ConfigError
 */
export function parsePolicy(
  text: string,
  source: string,
  targetSchemas: TargetSchemas,
  iamPower: IamPowerDetectors = {},
  propagation: PropagationDefaults = {},
): Policy {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message : String(error);
    throw new ConfigError(source, [`is not valid YAML: ${message}`]);
  }
  const result = policySchema.safeParse(document ?? {});
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  const problems = crossCheck(result.data, targetSchemas, iamPower);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return toPolicy(result.data, iamPower, propagation);
}

/** Rules that span fields: uniqueness, limits within limits, approvers for approval-gated roles, targets. */
function crossCheck(parsed: ParsedPolicy, targetSchemas: TargetSchemas, iamPower: IamPowerDetectors): string[] {
  const problems: string[] = [];
  const { settings } = parsed;
  if (settings.minDuration > settings.maxDuration) {
    problems.push(
      `settings.minDuration: ${formatDuration(settings.minDuration)} is longer than settings.maxDuration ${formatDuration(settings.maxDuration)}`,
    );
  }
  if (settings.defaultDuration < settings.minDuration) {
    problems.push(
      `settings.defaultDuration: ${formatDuration(settings.defaultDuration)} is shorter than settings.minDuration ${formatDuration(settings.minDuration)}`,
    );
  }
  if (settings.defaultDuration > settings.maxDuration) {
    problems.push(
      `settings.defaultDuration: ${formatDuration(settings.defaultDuration)} is longer than settings.maxDuration ${formatDuration(settings.maxDuration)}`,
    );
  }
  for (const name of Object.keys(settings.propagation)) {
    if (!targetSchemas[name]) {
      problems.push(
        `settings.propagation.${name}: "${name}" is not a known provider; use one of ${Object.keys(targetSchemas).join(', ')}`,
      );
    }
  }
  const seen = new Map<string, number>();
  parsed.roles.forEach((role, index) => {
    const at = `roles[${index}]`;
    const first = seen.get(role.id);
    if (first !== undefined)
      problems.push(`${at}.id: "${role.id}" is already used by roles[${first}]; role IDs must be unique`);
    else seen.set(role.id, index);

    const effective = effectiveRole(role, settings, iamPower);
    const maxDuration = effective.maxDuration;
    if (maxDuration > settings.maxDuration) {
      problems.push(
        `${at}.maxDuration: ${formatDuration(maxDuration)} exceeds settings.maxDuration ${formatDuration(settings.maxDuration)}; lower it or raise the global limit`,
      );
    }
    if (maxDuration < settings.minDuration) {
      problems.push(
        `${at}.maxDuration: ${formatDuration(maxDuration)} is shorter than settings.minDuration ${formatDuration(settings.minDuration)}`,
      );
    }
    if (role.defaultDuration !== undefined && role.defaultDuration < settings.minDuration) {
      problems.push(
        `${at}.defaultDuration: ${formatDuration(role.defaultDuration)} is shorter than settings.minDuration ${formatDuration(settings.minDuration)}, so requests without a duration would be refused`,
      );
    }
    if (role.defaultDuration !== undefined && role.defaultDuration > maxDuration) {
      problems.push(
        `${at}.defaultDuration: ${formatDuration(role.defaultDuration)} exceeds the role's maxDuration ${formatDuration(maxDuration)}`,
      );
    }
    if (role.breakGlass && settings.adminChannel === undefined) {
      problems.push(`${at}.breakGlass: break-glass roles page the admin channel; set settings.adminChannel`);
    }
    problems.push(...escalationProblems(role, at, settings.approvalTimeout));
    if (role.breakGlass && role.autoApproveWhen !== undefined) {
      problems.push(`${at}.autoApproveWhen: a break-glass role is always approved at once; remove the rule`);
    }
    if (!role.autoApprove && !role.breakGlass) {
      if (role.approvalChannel === undefined) {
        problems.push(
          `${at}.approvalChannel: is required unless autoApprove is true; approvers decide in that channel`,
        );
      }
      const { users, usergroups } = role.approvers;
      if (users.length === 0 && usergroups.length === 0) {
        problems.push(`${at}.approvers: name at least one user or user group, or set autoApprove: true`);
      } else if (usergroups.length === 0 && new Set(users).size < effective.approvalsRequired) {
        problems.push(
          `${at}.approvalsRequired: ${effective.approvalsRequired} distinct approvals${role.approvalsRequired === undefined ? ' (the default for a high-risk role)' : ''} can never be reached with ${new Set(users).size} approver(s) listed`,
        );
      }
    }

    const targetSchema = targetSchemas[role.provider];
    if (!targetSchema) {
      problems.push(
        `${at}.provider: "${role.provider}" is not a known provider; use one of ${Object.keys(targetSchemas).join(', ')}`,
      );
      return;
    }
    const target = targetSchema.safeParse(role.target);
    if (!target.success) {
      for (const issue of target.error.issues) {
        problems.push(
          `${at}.target${issue.path.length > 0 ? `.${issue.path.map(String).join('.')}` : ''}: ${issue.message}`,
        );
      }
    }
  });
  return problems;
}

/** `escalateAfter` and `escalateTo` go together, name someone, and escalate before the request times out. */
function escalationProblems(role: ParsedRole, at: string, defaultTimeoutMs: number): string[] {
  const { escalateAfter, escalateTo } = role;
  if (escalateAfter === undefined && escalateTo === undefined) return [];
  if (role.autoApprove || role.breakGlass) {
    return [
      `${at}.escalateAfter: ${role.breakGlass ? 'a break-glass' : 'an auto-approved'} role never waits for approvers, so it has nothing to escalate; remove escalateAfter and escalateTo`,
    ];
  }
  if (escalateAfter === undefined) {
    return [
      `${at}.escalateAfter: escalateTo needs escalateAfter, how long nobody has decided before they are asked (e.g. 15m)`,
    ];
  }
  const problems: string[] = [];
  if (escalateTo === undefined || (escalateTo.users.length === 0 && escalateTo.usergroups.length === 0)) {
    problems.push(
      `${at}.escalateTo: name at least one user or user group to escalate to after ${formatDuration(escalateAfter)}`,
    );
  }
  const timeoutMs = role.approvalTimeout ?? defaultTimeoutMs;
  if (escalateAfter >= timeoutMs) {
    problems.push(
      `${at}.escalateAfter: ${formatDuration(escalateAfter)} is not shorter than the approval timeout ${formatDuration(timeoutMs)}${role.approvalTimeout === undefined ? ' (settings.approvalTimeout)' : ''}, so requests would time out before escalating; shorten escalateAfter or lengthen approvalTimeout`,
    );
  }
  return problems;
}

function toPolicy(parsed: ParsedPolicy, iamPower: IamPowerDetectors, propagation: PropagationDefaults): Policy {
  const warnings: string[] = [];
  const { settings } = parsed;
  const webhook = settings.auditWebhook;
  if (
    webhook !== undefined &&
    new URL(webhook.url).protocol === 'http:' &&
    !isLoopback(new URL(webhook.url).hostname)
  ) {
    warnings.push(
      `settings.auditWebhook.url is plain http: audit events (with people's reasons) cross the network unencrypted`,
    );
  }
  return {
    settings: {
      defaultDurationMs: settings.defaultDuration,
      minDurationMs: settings.minDuration,
      maxDurationMs: settings.maxDuration,
      approvalTimeoutMs: settings.approvalTimeout,
      ...(settings.auditChannel !== undefined && { auditChannel: settings.auditChannel }),
      ...(settings.adminChannel !== undefined && { adminChannel: settings.adminChannel }),
      admins: settings.admins,
      alertAfter: settings.alertAfter,
      reconcileEveryMs: settings.reconcileEvery,
      propagationMs: { ...propagation, ...settings.propagation },
      auditRetentionMs: settings.auditRetention,
      allowedTeams: settings.allowedTeams,
      maxOpenRequestsPerPerson: settings.maxOpenRequestsPerPerson,
      reminderBeforeMs: settings.reminderBefore,
      identity: settings.identity,
      maxLeadTimeMs: settings.maxLeadTime,
      cloudRates: settings.cloudRates,
      ...(webhook !== undefined && {
        auditWebhook: { url: webhook.url, secretEnv: webhook.secretEnv, timeoutMs: webhook.timeout },
      }),
    },
    roles: parsed.roles.map((role): Role => {
      const effective = effectiveRole(role, settings, iamPower);
      const maxDurationMs = effective.maxDuration;
      const at = `roles[${parsed.roles.indexOf(role)}] (${role.id})`;
      if (effective.power !== undefined && role.risk === undefined) {
        warnings.push(`${at} can change IAM itself (${effective.power}); it is treated as risk: high`);
      }
      if (effective.power !== undefined && role.risk === 'low') {
        warnings.push(`${at} is declared risk: low although it can change IAM itself (${effective.power})`);
      }
      if (effective.risk === 'high' && effective.approvalsRequired < 2 && !role.autoApprove && !role.breakGlass) {
        warnings.push(`${at} is high risk but needs only ${effective.approvalsRequired} approval`);
      }
      if (effective.risk === 'high' && role.autoApprove) {
        warnings.push(`${at} is high risk and auto-approved: nobody checks its requests before access is granted`);
      }
      return {
        id: role.id,
        description: role.description,
        provider: role.provider,
        target: role.target,
        maxDurationMs,
        defaultDurationMs: role.defaultDuration ?? Math.min(settings.defaultDuration, maxDurationMs),
        approvalTimeoutMs: role.approvalTimeout ?? settings.approvalTimeout,
        ...(role.approvalChannel !== undefined && { approvalChannel: role.approvalChannel }),
        approvers: role.approvers,
        approvalsRequired: effective.approvalsRequired,
        risk: effective.risk,
        breakGlass: role.breakGlass,
        selfExtend: role.selfExtend,
        maxLeadTimeMs: role.maxLeadTime ?? settings.maxLeadTime,
        ...(role.escalateAfter !== undefined &&
          role.escalateTo !== undefined && { escalation: { afterMs: role.escalateAfter, to: role.escalateTo } }),
        ...(role.autoApproveWhen !== undefined && {
          autoApproveWhen: {
            people: { users: role.autoApproveWhen.users, usergroups: role.autoApproveWhen.usergroups },
            timeZone: role.autoApproveWhen.timeZone,
            ...(role.autoApproveWhen.hours !== undefined && { hours: role.autoApproveWhen.hours }),
            ...(role.autoApproveWhen.days !== undefined && {
              days: role.autoApproveWhen.days.map((day) => DAY_NAMES.indexOf(day)),
            }),
          },
        }),
        ...((role.requireTicket || role.ticketPattern !== undefined) && {
          ticketPattern: role.ticketPattern ?? DEFAULT_TICKET_PATTERN,
        }),
        autoApprove: role.autoApprove,
        requesters: role.requesters,
      };
    }),
    principals: parsed.principals,
    warnings,
  };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}
