import * as z from 'zod/mini';
import { MAX_REQUEST_MINUTES, parseDurationMinutes } from '../domain/duration.js';
import './zod-english.js';

/** A duration written as `90m`, `4h`, `1h30m`; parsed to whole minutes. */
const duration = z.pipe(
  z.string({ error: 'must be a duration such as 90m or 4h' }),
  z.transform((text: string, ctx) => {
    const minutes = parseDurationMinutes(text);
    if (minutes === null || minutes <= 0) {
      ctx.issues.push({
        code: 'custom',
        message: `must be a duration such as 90m or 4h (got "${text}")`,
        input: text,
      });
      return z.NEVER;
    }
    return minutes;
  }),
);

/** A request's length: a duration the API would accept (no request lasts longer than 7 days). */
const requestDuration = duration.check(
  z.refine((minutes: number) => minutes <= MAX_REQUEST_MINUTES, {
    message: 'must be at most 7d (no request may last longer)',
  }),
);

const groupList = z.array(z.string().check(z.minLength(1, 'must not be empty')));
const envName = z
  .string()
  .check(z.regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as SLACK_BOT_TOKEN'));
const nonEmpty = () => z.string().check(z.minLength(1));
const arn = (message = 'must be an ARN') => z.string().check(z.startsWith('arn:', message));
const accountId = (message: string) => z.string().check(z.regex(/^\d{12}$/, message));
const bucketName = () =>
  z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'));

const oidcSchema = z.strictObject({
  issuer: z.url({ error: 'must be an absolute URL' }),
  audience: nonEmpty(),
  clientId: nonEmpty(),
  /** Confidential web client for the approver pages; the CLI uses `clientId` as a public client. */
  webClientId: z.optional(nonEmpty()),
  webClientSecretEnv: z.optional(envName),
  scopes: z._default(z.array(z.string()), ['openid', 'email', 'profile', 'offline_access']),
  groupsClaim: z._default(nonEmpty(), 'groups'),
  emailClaim: z._default(nonEmpty(), 'email'),
  requireMfa: z._default(z.boolean(), false),
  /** `amr` values that count as multi-factor (RFC 8176). */
  mfaMethods: z._default(z.array(z.string()), [
    'mfa',
    'otp',
    'hwk',
    'swk',
    'sc',
    'fpt',
    'face',
    'iris',
    'retina',
  ]),
  algorithms: z._default(
    z
      .array(
        z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
      )
      .check(z.minLength(1)),
    ['RS256', 'PS256', 'ES256', 'EdDSA'],
  ),
  clockToleranceSeconds: z._default(
    z.number().check(z.int(), z.gte(0, 'must be ≥ 0'), z.lte(300, 'must be ≤ 300')),
    30,
  ),
});

const schedulerSchema = z.strictObject({
  group: z._default(
    z.string().check(z.regex(/^[0-9a-zA-Z-_.]{1,64}$/, 'must be 1-64 characters of [0-9a-zA-Z-_.]')),
    'breakglass',
  ),
  targetArn: z.optional(arn()),
  roleArn: z.optional(arn()),
  deadLetterArn: z.optional(arn()),
});

const awsSchema = z.strictObject({
  mode: z._default(z.enum(['live', 'simulated']), 'simulated'),
  region: z._default(nonEmpty(), 'us-east-1'),
  externalId: z.optional(z.string().check(z.minLength(2), z.maxLength(1224))),
  /** The broker's own principal that target roles trust (checked by `doctor`). */
  issuerRoleArn: z.optional(arn()),
  /**
   * Role the broker assumes in each target account to write the revocation policy (infra creates
   * `breakglass-revoker`). Unset: the broker's own credentials, which reach only its own account.
   */
  revokerRoleName: z.optional(z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name'))),
  scheduler: z._default(schedulerSchema, { group: 'breakglass' }),
});

const digestSchema = z.strictObject({
  everyEvents: z._default(z.number().check(z.int(), z.gte(1, 'must be ≥ 1')), 100),
  everyMinutes: z._default(z.number().check(z.int(), z.gte(1, 'must be ≥ 1')), 15),
  /** KMS key id or ARN for ES256 digests in production; a local key file otherwise. */
  kmsKeyId: z.optional(nonEmpty()),
  /**
   * Earlier digest keys after a rotation: their public keys are still published and trusted by the live verify,
   * so digests they signed keep verifying. Never used to sign.
   */
  retiredKmsKeyIds: z.optional(z.array(nonEmpty())),
  keyFile: z.optional(nonEmpty()),
});

const bunkerSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('file'),
    directory: z.optional(nonEmpty()),
    digest: z._default(digestSchema, { everyEvents: 100, everyMinutes: 15 }),
  }),
  z.strictObject({
    kind: z.literal('s3'),
    bucket: bucketName(),
    prefix: z._default(z.string(), 'breakglass/'),
    expectedBucketOwner: accountId('must be a 12-digit account id'),
    region: z.optional(z.string()),
    digest: z._default(digestSchema, { everyEvents: 100, everyMinutes: 15 }),
  }),
]);

/** Where the organisation trail's log files are read for grant activity reviews (docs/configuration.md). */
const cloudtrailCommon = {
  /** `o-…` when the trail is an organisation trail (its files sit under `AWSLogs/<org id>/`); found when unset. */
  organizationId: z.optional(
    z.string().check(z.regex(/^o-[a-z0-9]{10,32}$/, 'must be an AWS Organizations id such as o-a1b2c3d4e5')),
  ),
  /** Regions the trail logs; listed from the account's folder when unset. */
  regions: z.optional(
    z.array(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'))),
  ),
  /** How long after a call its log file may still arrive (CloudTrail delivers within about 5 minutes). */
  deliveryDelay: z._default(duration, 15),
};

const cloudtrailSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('s3'),
    bucket: bucketName(),
    prefix: z._default(z.string(), ''),
    /** The security account that owns the bucket; sent as ExpectedBucketOwner. */
    expectedBucketOwner: z.optional(accountId('must be a 12-digit account id')),
    region: z.optional(z.string()),
    /** The KMS key the trail encrypts with (SSE-KMS); the broker needs kms:Decrypt on it (infra grants it). */
    kmsKeyArn: z.optional(arn('must be a KMS key ARN')),
    ...cloudtrailCommon,
  }),
  z.strictObject({
    kind: z.literal('directory'),
    /** A directory holding `AWSLogs/` (a copy of the bucket under its prefix). */
    directory: nonEmpty(),
    ...cloudtrailCommon,
  }),
]);

const slackSchema = z.strictObject({
  channel: nonEmpty(),
  approveInSlack: z._default(z.boolean(), false),
  tokenEnv: z._default(envName, 'SLACK_BOT_TOKEN'),
  signingSecretEnv: z._default(envName, 'SLACK_SIGNING_SECRET'),
});

const webhookSchema = z.strictObject({
  url: z.url({ error: 'must be an absolute URL' }),
  secretEnv: envName,
  /** Audit event types to send; all when omitted. */
  events: z.optional(z.array(z.string())),
});

const webSchema = z.strictObject({
  /** Public base URL used in links (CLI output, Slack, web); defaults to the listening address. */
  publicUrl: z.optional(z.url()),
  cookieSecretEnv: z._default(envName, 'BREAKGLASS_COOKIE_SECRET'),
  sessionHours: z._default(z.number().check(z.int(), z.gte(1), z.lte(24)), 8),
  /** e.g. `https://tracker.example.com/browse/{ticket}` */
  ticketUrlTemplate: z.optional(
    z.string().check(z.includes('{ticket}', { message: 'must contain {ticket}' })),
  ),
});

/** Rate limits (docs/configuration.md#limits): fixed windows, per principal for callers with a token, per IP before. */
const LIMIT_DEFAULTS = {
  windowSeconds: 60,
  perPrincipal: 300,
  refusedPerPrincipal: 20,
  perIp: 60,
  store: 'dynamodb' as const,
};
const limitsSchema = z.strictObject({
  windowSeconds: z._default(z.number().check(z.int(), z.gte(1), z.lte(3600)), LIMIT_DEFAULTS.windowSeconds),
  /** Calls per window for one authenticated person (a legitimate burst of 100 must pass). */
  perPrincipal: z._default(
    z.number().check(z.int(), z.gte(100, 'must let a burst of 100 calls through')),
    LIMIT_DEFAULTS.perPrincipal,
  ),
  /** Refused (4xx) calls per window for one person before every further call is 429. */
  refusedPerPrincipal: z._default(z.number().check(z.int(), z.gte(1)), LIMIT_DEFAULTS.refusedPerPrincipal),
  /** Unauthenticated calls per window and client address: login, callback, Slack, refused tokens. */
  perIp: z._default(z.number().check(z.int(), z.gte(1)), LIMIT_DEFAULTS.perIp),
  /** `dynamodb` holds the limit across instances (Lambda); `memory` counts per process. */
  store: z._default(z.enum(['memory', 'dynamodb']), LIMIT_DEFAULTS.store),
});

const roleSchema = z.strictObject({
  id: z
    .string()
    .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (≤ 63)')),
  description: z._default(z.string(), ''),
  accountId: accountId('must be a 12-digit AWS account id'),
  roleArn: z
    .string()
    .check(
      z.regex(
        /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
        'must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)',
      ),
    ),
  requesters: groupList.check(z.minLength(1, 'must list at least one group')),
  approvers: z._default(groupList, []),
  approverUsers: z._default(z.array(z.email({ error: 'must be an email address' })), []),
  approvalsRequired: z._default(
    z
      .number({ error: 'must be a number' })
      .check(z.int('must be a whole number'), z.gte(0, 'must be ≥ 0'), z.lte(10, 'must be ≤ 10')),
    1,
  ),
  maxDuration: requestDuration,
  defaultDuration: z.optional(requestDuration),
  pendingTimeout: z.optional(duration),
  ticket: z._default(
    z.strictObject({
      required: z._default(z.boolean(), false),
      pattern: z.optional(z.string()),
    }),
    { required: false },
  ),
  emergency: z._default(
    z.strictObject({
      allowed: z._default(z.boolean(), false),
      postReviewWithin: z._default(duration, 24 * 60),
    }),
    { allowed: false, postReviewWithin: 24 * 60 },
  ),
  sessionPolicyArns: z._default(z.array(arn()).check(z.maxLength(10, 'at most 10')), []),
  /**
   * Lets the role's sessions call sts:AssumeRole (and its relatives) themselves. Off by default: a chained session
   * carries neither the grant's hard stop nor its tag, so it outlives the grant and escapes an early revocation.
   */
  allowRoleChaining: z._default(z.boolean({ error: 'must be true or false' }), false),
  slackChannel: z.optional(nonEmpty()),
  /** How the web pages mark the role: `high` gets a red "high risk" cue wherever the role appears. */
  risk: z._default(z.enum(['high', 'normal'], { error: 'must be high or normal' }), 'normal'),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1' }),
    oidc: oidcSchema,
    aws: z._default(awsSchema, {
      mode: 'simulated',
      region: 'us-east-1',
      scheduler: { group: 'breakglass' },
    }),
    bunker: z._default(bunkerSchema, { kind: 'file', digest: { everyEvents: 100, everyMinutes: 15 } }),
    audit: z._default(
      z.strictObject({
        /** `/readyz` fails when the oldest committed event has waited longer than this for the sealer. */
        maxSealLagSeconds: z._default(z.number().check(z.int(), z.gte(1, 'must be ≥ 1')), 60),
      }),
      { maxSealLagSeconds: 60 },
    ),
    cloudtrail: z.optional(cloudtrailSchema),
    notifications: z._default(
      z.strictObject({
        slack: z.optional(slackSchema),
        webhooks: z._default(z.array(webhookSchema), []),
      }),
      { webhooks: [] },
    ),
    web: z._default(webSchema, { cookieSecretEnv: 'BREAKGLASS_COOKIE_SECRET', sessionHours: 8 }),
    limits: z._default(limitsSchema, LIMIT_DEFAULTS),
    auditors: z._default(groupList, []),
    admins: z._default(groupList, []),
    defaults: z._default(
      z.strictObject({
        pendingTimeout: z._default(duration, 120),
      }),
      { pendingTimeout: 120 },
    ),
    roles: z.array(roleSchema).check(z.minLength(1, 'must define at least one role')),
  })
  .check(
    z.superRefine(
      (config, ctx) => {
        // This also runs when other fields failed (see `when` below), so that one bad value does not hide the
        // cross-field problems: each check looks only at fields that parsed to the expected type.
        const seen = new Map<string, number>();
        config.roles.forEach((parsed, index) => {
          if (typeof parsed !== 'object' || parsed === null) return;
          const role = parsed as Partial<Record<keyof RoleConfig, unknown>>;
          const path = ['roles', index];
          if (typeof role.id === 'string') {
            const first = seen.get(role.id);
            if (first !== undefined) {
              ctx.addIssue({
                code: 'custom',
                path: [...path, 'id'],
                message: `duplicates roles[${first}].id "${role.id}"`,
              });
            } else {
              seen.set(role.id, index);
            }
          }
          const arnAccount =
            typeof role.roleArn === 'string'
              ? /^arn:[^:]+:iam::(\d{12}):/.exec(role.roleArn)?.[1]
              : undefined;
          if (arnAccount && typeof role.accountId === 'string' && arnAccount !== role.accountId) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'roleArn'],
              message: `account ${arnAccount} does not match accountId ${role.accountId}`,
            });
          }
          if (
            typeof role.defaultDuration === 'number' &&
            typeof role.maxDuration === 'number' &&
            role.defaultDuration > role.maxDuration
          ) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'defaultDuration'],
              message: 'must be ≤ maxDuration',
            });
          }
          const hasApprovers =
            (Array.isArray(role.approvers) && role.approvers.length > 0) ||
            (Array.isArray(role.approverUsers) && role.approverUsers.length > 0);
          if (typeof role.approvalsRequired === 'number' && role.approvalsRequired > 0 && !hasApprovers) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'approvers'],
              message: `must list at least one group when approvalsRequired is ${role.approvalsRequired}`,
            });
          }
          const ticket = role.ticket as { pattern?: unknown } | undefined;
          if (typeof ticket?.pattern === 'string') {
            try {
              new RegExp(ticket.pattern);
            } catch {
              ctx.addIssue({
                code: 'custom',
                path: [...path, 'ticket', 'pattern'],
                message: 'must be a valid regular expression',
              });
            }
          }
          const emergency = role.emergency as { allowed?: unknown } | undefined;
          if (emergency?.allowed === true && !hasApprovers) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'emergency', 'allowed'],
              message: 'needs approvers to carry out the mandatory post-review',
            });
          }
        });
      },
      {
        when: (payload) => {
          const value = payload.value as { roles?: unknown } | null;
          return typeof value === 'object' && value !== null && Array.isArray(value.roles);
        },
      },
    ),
  );

export type BreakglassConfig = z.infer<typeof configSchema>;
export type RoleConfig = BreakglassConfig['roles'][number];
export type OidcConfig = BreakglassConfig['oidc'];
export type CloudTrailConfig = NonNullable<BreakglassConfig['cloudtrail']>;
export type LimitsConfig = BreakglassConfig['limits'];
