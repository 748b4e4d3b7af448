/** The shape of the policy file: every key, its type, default and the message a bad value gets (zod). */
import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { type DomainErrorDetails, isDomainError } from '../domain/errors';
import { cloudRatesSchema } from './cloud-rates';

/** The policy file's sentence for a duration the domain refuses: the domain gives a code and the facts, not prose. */
function durationProblem(text: string, error: unknown): string {
  if (!isDomainError(error) || error.code !== 'invalid_duration') {
    return error instanceof Error ? error.message : String(error);
  }
  switch ((error.details as DomainErrorDetails<'invalid_duration'>).problem) {
    case 'zero':
      return `"${text}" is zero; ask for a positive duration such as 30m.`;
    case 'too-long':
      return `"${text}" is longer than any role allows.`;
    default:
      return `"${text}" is not a duration. Use a number with a unit: 30s, 15m, 2h, 1d, or a combination such as 1h30m.`;
  }
}

const durationText = z.string({ error: 'must be a duration such as 30m, 2h or 1h30m' }).transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: durationProblem(text, error) });
    return z.NEVER;
  }
});

/** Like `durationText`, but `0s` is allowed: "no waiting". */
const durationOrZero = z.string({ error: 'must be a duration such as 0s, 1m or 10m' }).transform((text, ctx) => {
  if (/^0+[smhd]$/.test(text.trim())) return 0;
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: durationProblem(text, error) });
    return z.NEVER;
  }
});

const channelId = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/, { error: 'must be a Slack channel ID such as C0123ABCD (channel details → About)' });
const userId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,}$/, { error: 'must be a Slack user ID such as U0123ABCD (profile → ⋮ → Copy member ID)' });
const usergroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, { error: 'must be a Slack user group ID such as S0123ABCD' });

const selectorSchema = z
  .object({
    users: z.array(userId).default([]),
    usergroups: z.array(usergroupId).default([]),
  })
  .strict();

/**
 * Where audit events are POSTed as signed CloudEvents. The signing secret is never in the policy file: `secretEnv`
 * names the environment variable holding it, and start-up refuses a webhook whose variable is unset.
 */
const auditWebhookSchema = z
  .object({
    url: z.url({
      protocol: /^https?$/,
      error: "must be the receiver's http(s) URL, e.g. https://siem.example/ingest",
    }),
    secretEnv: z
      .string({ error: 'must name the environment variable holding the signing secret' })
      .regex(/^[A-Z_][A-Z0-9_]*$/, {
        error:
          'must name an environment variable such as JIT_AUDIT_WEBHOOK_SECRET (upper-case letters, digits, _); the secret itself goes in the environment, never in the policy',
      }),
    timeout: durationText
      .prefault('10s')
      .refine((ms) => ms <= 60_000, { error: 'must be at most 1m; a slow receiver holds up every later event' }),
  })
  .strict();

const settingsSchema = z
  .object({
    defaultDuration: durationText.prefault('1h'),
    minDuration: durationText.prefault('1m'),
    maxDuration: durationText.prefault('8h'),
    approvalTimeout: durationText.prefault('30m'),
    auditChannel: channelId.optional(),
    adminChannel: channelId.optional(),
    admins: selectorSchema.prefault({}),
    alertAfter: z.number().int().min(1, { error: 'must be at least 1 failed attempt' }).default(3),
    reconcileEvery: durationText.prefault('1m'),
    propagation: z.record(z.string(), durationOrZero).prefault({}),
    auditRetention: durationText.prefault('90d'),
    highRiskMaxDuration: durationText.prefault('1h'),
    maxOpenRequestsPerPerson: z.number().int().min(1, { error: 'must be at least 1' }).default(5),
    reminderBefore: durationText.prefault('10m'),
    maxLeadTime: durationText.prefault('7d'),
    identity: z
      .enum(['email', 'principals'], {
        error:
          'must be email (a confirmed Slack profile email names a person in a cloud unless principals maps them) or principals (only the principals map does)',
      })
      .default('email'),
    allowedTeams: z
      .array(
        z.string().regex(/^[TE][A-Z0-9]{2,}$/, { error: 'must be a Slack workspace ID (T…) or organisation ID (E…)' }),
      )
      .default([]),
    auditWebhook: auditWebhookSchema.optional(),
    cloudRates: cloudRatesSchema,
  })
  .strict();

export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `09:00-17:30` as minutes after midnight. */
const hoursText = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, {
    error: 'must be a window such as 09:00-17:00 (24-hour clock)',
  })
  .transform((text) => {
    const [from = '', to = ''] = text.split('-');
    const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
    return { from: minutes(from), to: minutes(to) };
  });

const autoApproveRuleSchema = z
  .object({
    users: z.array(userId).default([]),
    usergroups: z.array(usergroupId).default([]),
    hours: hoursText.optional(),
    days: z
      .array(z.enum(DAY_NAMES, { error: `must be one of ${DAY_NAMES.join(', ')}` }))
      .min(1)
      .optional(),
    timeZone: z
      .string()
      .refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Paris or UTC' })
      .default('UTC'),
  })
  .strict();

export const roleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, {
        error: 'must be lowercase letters, digits and single dashes, e.g. sandbox-admin',
      })
      .max(64, { error: 'must be at most 64 characters' }),
    description: z.string().trim().min(1, { error: 'must say what the role gives, in a few words' }),
    provider: z.string(),
    target: z.record(z.string(), z.unknown()).default({}),
    maxDuration: durationText.optional(),
    defaultDuration: durationText.optional(),
    approvalTimeout: durationText.optional(),
    approvalChannel: channelId.optional(),
    approvers: selectorSchema.prefault({}),
    approvalsRequired: z.number().int().min(1, { error: 'must be at least 1' }).optional(),
    autoApprove: z.boolean().default(false),
    autoApproveWhen: autoApproveRuleSchema.optional(),
    breakGlass: z.boolean().default(false),
    selfExtend: z.boolean().default(false),
    escalateAfter: durationText.optional(),
    escalateTo: selectorSchema.optional(),
    maxLeadTime: durationText.optional(),
    requesters: selectorSchema.prefault({}),
    risk: z.enum(['low', 'high'], { error: 'must be low or high' }).optional(),
    requireTicket: z.boolean().default(false),
    ticketPattern: z
      .string()
      .max(200, { error: 'must be at most 200 characters' })
      .refine(isValidRegex, { error: 'must be a valid regular expression, e.g. "[A-Z][A-Z0-9]+-[0-9]+"' })
      .optional(),
  })
  .strict();

/** A ticket reference such as INC-42 or OPS-1234, when a role requires one and names no pattern. */
export const DEFAULT_TICKET_PATTERN = '[A-Z][A-Z0-9]+-[0-9]+';

function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

export const policySchema = z
  .object({
    settings: settingsSchema.prefault({}),
    roles: z.array(roleSchema).min(1, { error: 'must list at least one role' }),
    principals: z
      .record(z.string(), z.record(z.string(), z.string()))
      .default({})
      .superRefine((principals, ctx) => {
        for (const key of Object.keys(principals)) {
          if (!userId.safeParse(key).success) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: 'must be keyed by a Slack user ID such as U0123ABCD (profile → ⋮ → Copy member ID)',
            });
          }
        }
      }),
  })
  .strict();

export type ParsedPolicy = z.infer<typeof policySchema>;

export type ParsedRole = z.infer<typeof roleSchema>;
