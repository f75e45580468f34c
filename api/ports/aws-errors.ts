import { DomainError, type ErrorCode } from '../domain/errors.js';

/**
 * What each AWS failure means for the caller, by error name without its `Exception` suffix (STS and IAM send
 * both spellings: modeled exceptions end in `Exception`, wire codes do not). The AWS message stays in the log.
 */
const THROTTLED = {
  code: 'aws_throttled',
  detail: 'AWS is throttling the broker; try again shortly',
} as const;
const CONFLICT = {
  code: 'aws_conflict',
  detail: 'a concurrent change in AWS conflicted; try again',
} as const;
const BY_NAME: Record<string, { code: ErrorCode; detail: string }> = {
  AccessDenied: { code: 'aws_access_denied', detail: 'AWS refused the broker' },
  MalformedPolicyDocument: { code: 'aws_policy_rejected', detail: 'AWS rejected the policy the broker sent' },
  PackedPolicyTooLarge: {
    code: 'aws_policy_too_large',
    detail: 'the session policy and tags are too large for STS',
  },
  LimitExceeded: { code: 'aws_policy_too_large', detail: 'an IAM quota on the role was exceeded' },
  RegionDisabled: { code: 'aws_region_disabled', detail: 'STS is not activated in the broker’s region' },
  Throttling: THROTTLED,
  TooManyRequests: THROTTLED,
  RequestLimitExceeded: THROTTLED,
  Conflict: CONFLICT,
  ConcurrentModification: CONFLICT,
  NoSuchEntity: { code: 'aws_role_not_found', detail: 'the target role does not exist in AWS' },
};

/** Hints for the operator, by code; they go into the problem detail. */
const FIX: Partial<Record<ErrorCode, string>> = {
  aws_access_denied: 'check the target role’s trust policy and the broker’s permissions (breakglass doctor)',
  aws_role_not_found: 'check roleArn in the config (breakglass doctor)',
  aws_region_disabled: 'activate STS in that region or change aws.region',
};

/** The error name an SDK v3 exception carries (modeled exceptions and bare `ServiceException`s alike). */
export function awsErrorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const name = (error as { name?: unknown; Code?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'UnknownError';
}

export function isAwsError(error: unknown, ...names: string[]): boolean {
  return names.includes(awsErrorName(error));
}

/**
 * Translates an SDK exception from `operation` into a DomainError with a stable code. Failures in AWS are the
 * broker's problem, never the user's, so every code maps to a 5xx status.
 */
export function translateAwsError(error: unknown, operation: string): DomainError {
  if (error instanceof DomainError) return error;
  const name = awsErrorName(error);
  const known = BY_NAME[name.replace(/Exception$/, '')];
  const code: ErrorCode = known?.code ?? 'aws_error';
  const what = known?.detail ?? 'AWS returned an error';
  const fix = FIX[code];
  const metadata = (error as { $metadata?: { requestId?: string; httpStatusCode?: number } } | null)
    ?.$metadata;
  return new DomainError(code, `${operation} failed: ${what} (${name})${fix ? `; ${fix}` : ''}`, {
    awsError: name,
    operation,
    ...(metadata?.requestId ? { awsRequestId: metadata.requestId } : {}),
  });
}

/** `arn:aws:iam::123456789012:role/path/name` → `name` (IAM role APIs take the name without its path). */
export function roleNameOf(roleArn: string): string {
  const resource = roleArn.split(':').slice(5).join(':');
  return (
    resource
      .replace(/^role\//, '')
      .split('/')
      .at(-1) ?? resource
  );
}

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

export function partitionOf(arn: string): Partition {
  const partition = arn.split(':')[1];
  return partition === 'aws-cn' || partition === 'aws-us-gov' ? partition : 'aws';
}
