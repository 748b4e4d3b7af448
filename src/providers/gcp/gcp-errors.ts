/** Cloud Resource Manager error classification: what a failed IAM policy call said, and whether a retry can help. */
import { CloudProviderError } from '../../domain/errors';
import { isTransientHttpStatus, providerError } from '../retry';
import { type GcpResourceKind, resourceKind } from './gcp-target';
import { MAX_PRINCIPALS_PER_POLICY } from './iam-policy-edit';

const PERMISSION_PREFIX: Readonly<Record<GcpResourceKind, string>> = {
  projects: 'resourcemanager.projects',
  folders: 'resourcemanager.folders',
  organizations: 'resourcemanager.organizations',
};

/** What a failed call said, whichever transport or layer it came from. */
export interface FailureDescription {
  httpStatus?: number;
  /** Google's canonical status name, e.g. `ABORTED`, `PERMISSION_DENIED`. */
  rpcStatus?: string;
  message: string;
  transient: boolean;
  summary: string;
}

/** gRPC status numbers, for errors that arrive as a gax GoogleError rather than an HTTP error. */
const RPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

const TRANSIENT_RPC_STATUSES = new Set([
  'ABORTED',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
]);
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** Matches Google's message for a policy over its principal limit. */
const PRINCIPAL_LIMIT = /maximum allowed (size|number)|number of (members|principals)|1,?500/i;

/** What a failure said, read from whichever layer raised it, and whether another try soon may succeed. */
export function describeFailure(error: unknown): FailureDescription {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown;
    code?: unknown;
    message?: unknown;
    details?: unknown;
    response?: { status?: unknown; data?: unknown };
  };
  const rawMessage = typeof fields.message === 'string' ? fields.message : String(error);
  // REST errors arrive as the HTTP status plus Google's JSON error body, which gaxios puts in the message.
  const data = fields.response?.data;
  const body =
    googleErrorBody(typeof data === 'string' ? parseJson(data) : data) ?? googleErrorBody(parseJson(rawMessage));
  const httpStatus =
    typeof fields.status === 'number'
      ? fields.status
      : typeof fields.response?.status === 'number'
        ? fields.response.status
        : body?.code;
  const rpcStatus =
    body?.status ??
    (typeof fields.code === 'number' && httpStatus === undefined ? RPC_STATUS_NAMES[fields.code] : undefined);
  const message = body?.message ?? (typeof fields.details === 'string' && fields.details ? fields.details : rawMessage);
  const network = typeof fields.code === 'string' && NETWORK_ERROR_CODES.has(fields.code);
  const transient =
    network ||
    (rpcStatus !== undefined && TRANSIENT_RPC_STATUSES.has(rpcStatus) && !PRINCIPAL_LIMIT.test(message)) ||
    httpStatus === 409 ||
    httpStatus === 412 ||
    (isTransientHttpStatus(httpStatus) && !PRINCIPAL_LIMIT.test(message));
  const summary = [httpStatus, rpcStatus, network ? fields.code : undefined]
    .filter((part) => part !== undefined)
    .join(' ');
  return {
    ...(httpStatus !== undefined && { httpStatus }),
    ...(rpcStatus !== undefined && { rpcStatus }),
    message,
    transient,
    summary: summary || 'error',
  };
}

/** Turns a failure that outlived our retries into a sentence the requester and approvers can act on. */
export function classifyFailure(
  provider: string,
  error: unknown,
  resource: string,
  stage: 'read' | 'write',
): CloudProviderError {
  if (error instanceof CloudProviderError) return error;
  const failure = describeFailure(error);
  const kind = resourceKind(resource);
  const permission = `${PERMISSION_PREFIX[kind]}.${stage === 'read' ? 'getIamPolicy' : 'setIamPolicy'}`;
  const detail = truncate(failure.message, 300);

  if (failure.transient) {
    const what =
      failure.httpStatus === 409 || failure.rpcStatus === 'ABORTED'
        ? 'kept changing under the bot'
        : `kept failing (${failure.summary})`;
    return providerError(
      provider,
      `Google Cloud ${what} while ${stage === 'read' ? 'reading' : 'updating'} the allow policy of ${resource}; the bot will try again.`,
      true,
      error,
    );
  }
  if (/could not load the default credentials/i.test(failure.message)) {
    return providerError(
      provider,
      'The bot found no Google Cloud credentials: give it Application Default Credentials (an attached service account, workload identity federation, or GOOGLE_APPLICATION_CREDENTIALS).',
      false,
      error,
    );
  }
  if (PRINCIPAL_LIMIT.test(failure.message) && (failure.httpStatus === 400 || failure.rpcStatus !== undefined)) {
    return providerError(
      provider,
      `The allow policy of ${resource} is at Google's limit of ${MAX_PRINCIPALS_PER_POLICY} principals (${detail}); remove unused bindings there or grant through a group.`,
      false,
      error,
    );
  }
  if (failure.rpcStatus === 'PERMISSION_DENIED' || failure.httpStatus === 403) {
    return providerError(
      provider,
      `The bot's Google Cloud identity lacks the permission ${permission} on ${resource} (or ${resource} does not exist): grant it a role with that permission there.`,
      false,
      error,
    );
  }
  if (failure.rpcStatus === 'UNAUTHENTICATED' || failure.httpStatus === 401) {
    return providerError(provider, `Google Cloud rejected the bot's credentials: ${detail}`, false, error);
  }
  if (failure.rpcStatus === 'NOT_FOUND' || failure.httpStatus === 404) {
    return providerError(
      provider,
      `Google Cloud has no ${resource}: check the role's target in the policy file.`,
      false,
      error,
    );
  }
  if (
    failure.rpcStatus === 'INVALID_ARGUMENT' ||
    failure.rpcStatus === 'FAILED_PRECONDITION' ||
    failure.httpStatus === 400
  ) {
    return providerError(
      provider,
      `Google Cloud refused the change to the allow policy of ${resource}: ${detail.replace(/\.$/, '')}. Check the role name in the policy file and the requester's gcp identity under principals.`,
      false,
      error,
    );
  }
  return providerError(
    provider,
    `Google Cloud failed to ${stage === 'read' ? 'read' : 'update'} the allow policy of ${resource}: ${detail}`,
    true,
    error,
  );
}

/**
 * Google refused the policy written (400 INVALID_ARGUMENT, FAILED_PRECONDITION), not the call: in a batch of edits
 * that may be one edit's doing, such as a grant to an account that does not exist.
 */
export function isPolicyRefusal(error: unknown): boolean {
  if (!(error instanceof CloudProviderError) || error.retryable) return false;
  const failure = describeFailure(error.cause);
  return (
    failure.httpStatus === 400 ||
    failure.rpcStatus === 'INVALID_ARGUMENT' ||
    failure.rpcStatus === 'FAILED_PRECONDITION'
  );
}

/** The bot could not take its turn on a policy (the shared store away, or another process holding it too long). */
export function turnFailure(provider: string, resource: string, error: unknown): CloudProviderError {
  const reason = truncate(error instanceof Error ? error.message : String(error), 300);
  return providerError(
    provider,
    `The bot could not take its turn to edit the allow policy of ${resource} (${reason}); nothing was changed, and the bot will try again.`,
    true,
    error,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Google's error envelope: `{ error: { code, message, status } }`. */
function googleErrorBody(value: unknown): { code?: number; message?: string; status?: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const inner = (value as { error?: unknown }).error;
  if (typeof inner !== 'object' || inner === null) return undefined;
  const { code, message, status } = inner as { code?: unknown; message?: unknown; status?: unknown };
  return {
    ...(typeof code === 'number' && { code }),
    ...(typeof message === 'string' && { message }),
    ...(typeof status === 'string' && { status }),
  };
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
