/** The small interfaces the grant use cases need from AWS; live adapters and simulated twins implement them. */

export interface AssumeRoleInput {
  roleArn: string;
  roleSessionName: string;
  sourceIdentity: string;
  tags: Array<{ Key: string; Value: string }>;
  externalId?: string;
  /** The inline session policy, exactly as recorded in the audit event. */
  policy: string;
  policyArns: string[];
  durationSeconds: number;
}

export interface IssuedSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** The STS expiry (not yet capped at the grant end). */
  expiration: Date;
  stsRequestId: string | null;
  assumedRoleArn: string | null;
  packedPolicySize: number | null;
}

export interface CredentialIssuer {
  assumeRole(input: AssumeRoleInput): Promise<IssuedSession>;
}

export interface RoleDescription {
  arn: string;
  /** The trust policy, URL-decoded JSON text. */
  trustPolicy: string;
  maxSessionDuration: number;
  tags: Record<string, string>;
}

export interface RolePolicies {
  /** The inline policy's JSON text, or null when the role has no such policy. */
  getRolePolicy(roleName: string, policyName: string): Promise<string | null>;
  putRolePolicy(roleName: string, policyName: string, document: string): Promise<void>;
  /** Succeeds when the policy is already gone. */
  deleteRolePolicy(roleName: string, policyName: string): Promise<void>;
  listRolePolicies(roleName: string): Promise<string[]>;
  /** Null when the role does not exist. */
  getRole(roleName: string): Promise<RoleDescription | null>;
}

export interface ScheduleSpec {
  name: string;
  group: string;
  /** `at(yyyy-mm-ddThh:mm:ss)` in UTC. */
  expression: string;
  targetArn: string;
  roleArn: string;
  deadLetterArn?: string;
  /** JSON handed to the target: `{"requestId":…,"transition":…}`. */
  input: string;
  description: string;
}

export interface TransitionScheduler {
  /** `exists` when a schedule of that name is already there (names are unique per grant, transition and time). */
  createSchedule(spec: ScheduleSpec): Promise<'created' | 'exists'>;
  /** `absent` when there was nothing to delete (it fired and deleted itself, or never existed). */
  deleteSchedule(name: string, group: string): Promise<'deleted' | 'absent'>;
}

export interface ConsoleFederation {
  /**
   * Exchanges session credentials for a sign-in token (a secret: valid 15 minutes). No `SessionDuration`: the
   * broker's sessions are always chained (its own role → target role), and the endpoint refuses that parameter
   * with chained credentials; the console session then lasts as long as the credentials do.
   */
  signinToken(
    session: Pick<IssuedSession, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
    roleArn: string,
  ): Promise<string>;
  /** The URL that signs the browser in with the token. */
  loginUrl(signinToken: string, roleArn: string, issuer: string, region: string): string;
}

/** Everything the broker talks to in AWS, built once per mode. */
export interface AwsAdapters {
  mode: 'live' | 'simulated';
  sts: CredentialIssuer;
  iam: RolePolicies;
  /**
   * The IAM adapter for a target role's own account: across accounts the broker works through the role named
   * by `aws.revokerRoleName` there. Absent: `iam` (the broker's own credentials) serves every account.
   */
  iamForAccount?(accountId: string, partition: string): RolePolicies;
  scheduler: TransitionScheduler;
  federation: ConsoleFederation;
}
