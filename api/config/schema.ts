import { z } from 'zod';
import { MAX_REQUEST_MINUTES, parseDurationMinutes } from '../domain/duration.js';

/** A duration written as `90m`, `4h`, `1h30m`; parsed to whole minutes. */
const duration = z.string({ error: 'must be a duration such as 90m or 4h' }).transform((text, ctx) => {
  const minutes = parseDurationMinutes(text);
  if (minutes === null || minutes <= 0) {
    ctx.addIssue({ code: 'custom', message: `must be a duration such as 90m or 4h (got "${text}")` });
    return z.NEVER;
  }
  return minutes;
});

/** A request's length: a duration the API would accept (no request lasts longer than 7 days). */
const requestDuration = duration.refine((minutes) => minutes <= MAX_REQUEST_MINUTES, {
  message: 'must be at most 7d (no request may last longer)',
});

const groupList = z.array(z.string().min(1, 'must not be empty'));
const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as SLACK_BOT_TOKEN');

const oidcSchema = z.strictObject({
  issuer: z.url({ error: 'must be an absolute URL' }),
  audience: z.string().min(1),
  clientId: z.string().min(1),
  /** Confidential web client for the approver pages; the CLI uses `clientId` as a public client. */
  webClientId: z.string().min(1).optional(),
  webClientSecretEnv: envName.optional(),
  scopes: z.array(z.string()).default(['openid', 'email', 'profile', 'offline_access']),
  groupsClaim: z.string().min(1).default('groups'),
  emailClaim: z.string().min(1).default('email'),
  requireMfa: z.boolean().default(false),
  /** `amr` values that count as multi-factor (RFC 8176). */
  mfaMethods: z
    .array(z.string())
    .default(['mfa', 'otp', 'hwk', 'swk', 'sc', 'fpt', 'face', 'iris', 'retina']),
  algorithms: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .min(1)
    .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  clockToleranceSeconds: z.number().int().min(0, 'must be ≥ 0').max(300, 'must be ≤ 300').default(30),
});

const schedulerSchema = z.strictObject({
  group: z
    .string()
    .regex(/^[0-9a-zA-Z-_.]{1,64}$/, 'must be 1-64 characters of [0-9a-zA-Z-_.]')
    .default('breakglass'),
  targetArn: z.string().startsWith('arn:', 'must be an ARN').optional(),
  roleArn: z.string().startsWith('arn:', 'must be an ARN').optional(),
  deadLetterArn: z.string().startsWith('arn:', 'must be an ARN').optional(),
});

const awsSchema = z.strictObject({
  mode: z.enum(['live', 'simulated']).default('simulated'),
  region: z.string().min(1).default('us-east-1'),
  externalId: z.string().min(2).max(1224).optional(),
  /** The broker's own principal that target roles trust (checked by `doctor`). */
  issuerRoleArn: z.string().startsWith('arn:', 'must be an ARN').optional(),
  /**
   * Role the broker assumes in each target account to write the revocation policy (infra creates
   * `breakglass-revoker`). Unset: the broker's own credentials, which reach only its own account.
   */
  revokerRoleName: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name')
    .optional(),
  scheduler: schedulerSchema.default({ group: 'breakglass' }),
});

const digestSchema = z.strictObject({
  everyEvents: z.number().int().min(1, 'must be ≥ 1').default(100),
  everyMinutes: z.number().int().min(1, 'must be ≥ 1').default(15),
  /** KMS key id or ARN for ES256 digests in production; a local key file otherwise. */
  kmsKeyId: z.string().min(1).optional(),
  /**
   * Earlier digest keys after a rotation: their public keys are still published and trusted by the live verify,
   * so digests they signed keep verifying. Never used to sign.
   */
  retiredKmsKeyIds: z.array(z.string().min(1)).optional(),
  keyFile: z.string().min(1).optional(),
});

const bunkerSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('file'),
    directory: z.string().min(1).optional(),
    digest: digestSchema.default({ everyEvents: 100, everyMinutes: 15 }),
  }),
  z.strictObject({
    kind: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    prefix: z.string().default('breakglass/'),
    expectedBucketOwner: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
    region: z.string().optional(),
    digest: digestSchema.default({ everyEvents: 100, everyMinutes: 15 }),
  }),
]);

/** Where the organisation trail's log files are read for grant activity reviews (docs/configuration.md). */
const cloudtrailCommon = {
  /** `o-…` when the trail is an organisation trail (its files sit under `AWSLogs/<org id>/`); found when unset. */
  organizationId: z
    .string()
    .regex(/^o-[a-z0-9]{10,32}$/, 'must be an AWS Organizations id such as o-a1b2c3d4e5')
    .optional(),
  /** Regions the trail logs; listed from the account's folder when unset. */
  regions: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'))
    .optional(),
  /** How long after a call its log file may still arrive (CloudTrail delivers within about 5 minutes). */
  deliveryDelay: duration.default(15),
};

const cloudtrailSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
    prefix: z.string().default(''),
    /** The security account that owns the bucket; sent as ExpectedBucketOwner. */
    expectedBucketOwner: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit account id')
      .optional(),
    region: z.string().optional(),
    /** The KMS key the trail encrypts with (SSE-KMS); the broker needs kms:Decrypt on it (infra grants it). */
    kmsKeyArn: z.string().startsWith('arn:', 'must be a KMS key ARN').optional(),
    ...cloudtrailCommon,
  }),
  z.strictObject({
    kind: z.literal('directory'),
    /** A directory holding `AWSLogs/` (a copy of the bucket under its prefix). */
    directory: z.string().min(1),
    ...cloudtrailCommon,
  }),
]);

const slackSchema = z.strictObject({
  channel: z.string().min(1),
  approveInSlack: z.boolean().default(false),
  tokenEnv: envName.default('SLACK_BOT_TOKEN'),
  signingSecretEnv: envName.default('SLACK_SIGNING_SECRET'),
});

const webhookSchema = z.strictObject({
  url: z.url({ error: 'must be an absolute URL' }),
  secretEnv: envName,
  /** Audit event types to send; all when omitted. */
  events: z.array(z.string()).optional(),
});

const webSchema = z.strictObject({
  /** Public base URL used in links (CLI output, Slack, web); defaults to the listening address. */
  publicUrl: z.url().optional(),
  cookieSecretEnv: envName.default('BREAKGLASS_COOKIE_SECRET'),
  sessionHours: z.number().int().min(1).max(24).default(8),
  /** e.g. `https://tracker.example.com/browse/{ticket}` */
  ticketUrlTemplate: z.string().includes('{ticket}', { message: 'must contain {ticket}' }).optional(),
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
  windowSeconds: z.number().int().min(1).max(3600).default(LIMIT_DEFAULTS.windowSeconds),
  /** Calls per window for one authenticated person (a legitimate burst of 100 must pass). */
  perPrincipal: z
    .number()
    .int()
    .min(100, 'must let a burst of 100 calls through')
    .default(LIMIT_DEFAULTS.perPrincipal),
  /** Refused (4xx) calls per window for one person before every further call is 429. */
  refusedPerPrincipal: z.number().int().min(1).default(LIMIT_DEFAULTS.refusedPerPrincipal),
  /** Unauthenticated calls per window and client address: login, callback, Slack, refused tokens. */
  perIp: z.number().int().min(1).default(LIMIT_DEFAULTS.perIp),
  /** `dynamodb` holds the limit across instances (Lambda); `memory` counts per process. */
  store: z.enum(['memory', 'dynamodb']).default(LIMIT_DEFAULTS.store),
});

const roleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (≤ 63)'),
  description: z.string().default(''),
  accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  roleArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
      'must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)',
    ),
  requesters: groupList.min(1, 'must list at least one group'),
  approvers: groupList.default([]),
  approverUsers: z.array(z.email({ error: 'must be an email address' })).default([]),
  approvalsRequired: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be ≥ 0')
    .max(10, 'must be ≤ 10')
    .default(1),
  maxDuration: requestDuration,
  defaultDuration: requestDuration.optional(),
  pendingTimeout: duration.optional(),
  ticket: z
    .strictObject({
      required: z.boolean().default(false),
      pattern: z.string().optional(),
    })
    .default({ required: false }),
  emergency: z
    .strictObject({
      allowed: z.boolean().default(false),
      postReviewWithin: duration.default(24 * 60),
    })
    .default({ allowed: false, postReviewWithin: 24 * 60 }),
  sessionPolicyArns: z
    .array(z.string().startsWith('arn:', 'must be an ARN'))
    .max(10, 'at most 10')
    .default([]),
  /**
   * Lets the role's sessions call sts:AssumeRole (and its relatives) themselves. Off by default: a chained session
   * carries neither the grant's hard stop nor its tag, so it outlives the grant and escapes an early revocation.
   */
  allowRoleChaining: z.boolean({ error: 'must be true or false' }).default(false),
  slackChannel: z.string().min(1).optional(),
  /** How the web pages mark the role: `high` gets a red "high risk" cue wherever the role appears. */
  risk: z.enum(['high', 'normal'], { error: 'must be high or normal' }).default('normal'),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1' }),
    oidc: oidcSchema,
    aws: awsSchema.default({ mode: 'simulated', region: 'us-east-1', scheduler: { group: 'breakglass' } }),
    bunker: bunkerSchema.default({ kind: 'file', digest: { everyEvents: 100, everyMinutes: 15 } }),
    audit: z
      .strictObject({
        /** `/readyz` fails when the oldest committed event has waited longer than this for the sealer. */
        maxSealLagSeconds: z.number().int().min(1, 'must be ≥ 1').default(60),
      })
      .default({ maxSealLagSeconds: 60 }),
    cloudtrail: cloudtrailSchema.optional(),
    notifications: z
      .strictObject({
        slack: slackSchema.optional(),
        webhooks: z.array(webhookSchema).default([]),
      })
      .default({ webhooks: [] }),
    web: webSchema.default({ cookieSecretEnv: 'BREAKGLASS_COOKIE_SECRET', sessionHours: 8 }),
    limits: limitsSchema.default(LIMIT_DEFAULTS),
    auditors: groupList.default([]),
    admins: groupList.default([]),
    defaults: z
      .strictObject({
        pendingTimeout: duration.default(120),
      })
      .default({ pendingTimeout: 120 }),
    roles: z.array(roleSchema).min(1, 'must define at least one role'),
  })
  .superRefine(
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
          typeof role.roleArn === 'string' ? /^arn:[^:]+:iam::(\d{12}):/.exec(role.roleArn)?.[1] : undefined;
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
  );

export type BreakglassConfig = z.infer<typeof configSchema>;
export type RoleConfig = BreakglassConfig['roles'][number];
export type OidcConfig = BreakglassConfig['oidc'];
export type CloudTrailConfig = NonNullable<BreakglassConfig['cloudtrail']>;
export type LimitsConfig = BreakglassConfig['limits'];
