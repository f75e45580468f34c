/**
 * The parts of a CloudTrail record (documented record format, `eventVersion` 1.0x) that the activity review
 * reads. Every field is optional on the wire except the few CloudTrail always writes; readers must not trust
 * more than that.
 */
export interface TrailRecord {
  eventVersion?: string;
  userIdentity?: TrailUserIdentity;
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  requestID?: string;
  eventID: string;
  readOnly?: boolean;
  eventType?: string;
  managementEvent?: boolean;
  recipientAccountId?: string;
  eventCategory?: string;
  sessionCredentialFromConsole?: string;
}

export interface TrailUserIdentity {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  sessionContext?: {
    sessionIssuer?: {
      type?: string;
      principalId?: string;
      arn?: string;
      accountId?: string;
      userName?: string;
    };
    attributes?: { creationDate?: string; mfaAuthenticated?: string };
    sourceIdentity?: string;
  };
}

/** `iam` from `iam.amazonaws.com`; the service prefix IAM actions use. */
export function serviceOf(record: Pick<TrailRecord, 'eventSource'>): string {
  const source = record.eventSource ?? '';
  const dot = source.indexOf('.amazonaws.com');
  return dot > 0 ? source.slice(0, dot) : source;
}

/** `iam:PutRolePolicy`. */
export function actionOf(record: Pick<TrailRecord, 'eventSource' | 'eventName'>): string {
  return `${serviceOf(record)}:${record.eventName}`;
}

/**
 * Error codes by which services say "not authorised": STS/IAM/most JSON services say `AccessDenied` or
 * `AccessDeniedException`, EC2 says `Client.UnauthorizedOperation`, a few say `UnauthorizedOperation` or
 * `UnauthorizedException`.
 */
export function isAccessDenied(record: Pick<TrailRecord, 'errorCode'>): boolean {
  const code = record.errorCode;
  if (!code) return false;
  return /AccessDenied|UnauthorizedOperation|UnauthorizedException|^Forbidden$/i.test(code);
}

/** The role and session names of an assumed-role ARN (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`). */
export function assumedRoleParts(
  arn: string | undefined,
): { account: string; role: string; session: string } | null {
  const match = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn ?? '');
  return match ? { account: match[1]!, role: match[2]!, session: match[3]! } : null;
}
