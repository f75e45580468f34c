/**
 * The organisation's guardrail SCPs, rendered for the accounts of one deployment. Every exemption names a
 * principal by its full ARN in an account given here, and every exempt name is itself protected: nobody but its
 * owner may create a role with that name, change its trust, its policies or its tags. An account administrator
 * therefore cannot obtain an exemption by creating `breakglass-deploy` in an account, nor by passing the
 * account's CDK execution role to CloudFormation (it is not exempt). `npm run synth` writes them to
 * `cdk.out/guardrails/`; `infra/guardrails/` holds them rendered for the example accounts.
 */
import {
  DEPLOY_ROLE_NAME,
  ISSUER_ROLE_NAME,
  REVOKER_ROLE_NAME,
  roleArn,
  TRANSITIONS_ROLE_NAME,
} from './names.js';

export interface GuardrailOptions {
  /** Defaults to `aws`. */
  partition?: string;
  /** The shared-services account running the broker (its issuer and transitions roles write revocations there). */
  brokerAccountId: string;
  /** Accounts with break-glass target roles (their `breakglass-revoker` writes revocations there). */
  workloadAccountIds: string[];
  /** The regions `region-allowlist` leaves open. */
  allowedRegions: string[];
  /**
   * Exempt `AWSControlTowerExecution` in these accounts from the CloudTrail guardrail (Control Tower manages the
   * organisation trail through it). The name is then protected like the break-glass names.
   */
  controlTowerAccountIds?: string[];
}

export interface ScpDocument {
  Version: '2012-10-17';
  Statement: Array<{
    Sid: string;
    Effect: 'Deny';
    Action?: string[];
    NotAction?: string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }>;
}

/** AWS Organizations refuses SCPs longer than this. */
export const SCP_SIZE_LIMIT = 5_120;

/** Every IAM write that changes who a role trusts, what it may do, or whether it is a break-glass role. */
const ROLE_WRITES = [
  'iam:CreateRole',
  'iam:DeleteRole',
  'iam:UpdateAssumeRolePolicy',
  'iam:UpdateRole',
  'iam:UpdateRoleDescription',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:TagRole',
  'iam:UntagRole',
];

const unique = (values: string[]) => [...new Set(values)];

/** The four guardrail SCPs by file name (without `.json`). Throws if one would exceed the SCP size limit. */
export function guardrailPolicies(options: GuardrailOptions): Record<string, ScpDocument> {
  const partition = options.partition ?? 'aws';
  const accounts = unique([options.brokerAccountId, ...options.workloadAccountIds]);
  const arn = (account: string, name: string) => roleArn(account, name, partition);
  const breakglassRoles = `arn:${partition}:iam::*:role/breakglass-*`;
  const deployers = accounts.map((account) => arn(account, DEPLOY_ROLE_NAME));
  // Revocations: the broker's own roles in its account, and each workload account's revoker role.
  const revocationWriters = [
    arn(options.brokerAccountId, ISSUER_ROLE_NAME),
    arn(options.brokerAccountId, TRANSITIONS_ROLE_NAME),
    ...options.workloadAccountIds.map((account) => arn(account, REVOKER_ROLE_NAME)),
  ];
  const controlTower = (options.controlTowerAccountIds ?? []).map((account) =>
    arn(account, 'AWSControlTowerExecution'),
  );

  const protect: ScpDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        // Covers creating a role with a break-glass name (`breakglass-deploy`, `breakglass-issuer`, …) too.
        Sid: 'DenyBreakglassRoleChangesExceptDeploy',
        Effect: 'Deny',
        Action: ROLE_WRITES.filter(
          (action) => action !== 'iam:PutRolePolicy' && action !== 'iam:DeleteRolePolicy',
        ),
        Resource: breakglassRoles,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': deployers } },
      },
      {
        Sid: 'DenyInlinePolicyChangesExceptBrokerAndDeploy',
        Effect: 'Deny',
        Action: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
        Resource: breakglassRoles,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [...revocationWriters, ...deployers] } },
      },
      {
        // The deploy role is the exemption: nobody, not even itself, may change it while the SCP is attached, or
        // hand it to a service (CloudFormation would then act as it).
        Sid: 'DenyChangingOrPassingTheDeployRole',
        Effect: 'Deny',
        Action: [...ROLE_WRITES, 'iam:PassRole'],
        Resource: `arn:${partition}:iam::*:role/${DEPLOY_ROLE_NAME}`,
      },
      {
        Sid: 'DenyMarkingRolesAsBreakglassTargetsExceptDeploy',
        Effect: 'Deny',
        Action: ['iam:CreateRole', 'iam:TagRole', 'iam:UntagRole'],
        Resource: '*',
        Condition: {
          'ForAnyValue:StringLike': { 'aws:TagKeys': ['breakglass:*'] },
          ArnNotEquals: { 'aws:PrincipalArn': deployers },
        },
      },
    ],
  };

  const cloudTrail: ScpDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        // Trails and CloudTrail Lake event data stores alike; the wildcards also cover verbs added later.
        Sid: 'DenyCloudTrailTampering',
        Effect: 'Deny',
        Action: [
          'cloudtrail:Stop*',
          'cloudtrail:Delete*',
          'cloudtrail:Update*',
          'cloudtrail:PutEventSelectors',
          'cloudtrail:PutInsightSelectors',
          'cloudtrail:PutEventConfiguration',
          'cloudtrail:PutResourcePolicy',
          'cloudtrail:DeregisterOrganizationDelegatedAdmin',
          'cloudtrail:DisableFederation',
        ],
        Resource: '*',
        ...(controlTower.length > 0
          ? { Condition: { ArnNotEquals: { 'aws:PrincipalArn': controlTower } } }
          : {}),
      },
      ...(controlTower.length > 0
        ? [
            {
              Sid: 'DenyChangingTheControlTowerRole',
              Effect: 'Deny' as const,
              Action: [...ROLE_WRITES, 'iam:PassRole'],
              Resource: `arn:${partition}:iam::*:role/AWSControlTowerExecution`,
              Condition: { ArnNotEquals: { 'aws:PrincipalArn': controlTower } },
            },
          ]
        : []),
    ],
  };

  const publicAccessBlock: ScpDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        // Account level only: S3 Control's PutPublicAccessBlock and DeletePublicAccessBlock are both authorised
        // as s3:PutAccountPublicAccessBlock. Bucket-level settings stay with the bucket's owner (Terraform and
        // CDK set them on every bucket they create).
        Sid: 'DenyAccountPublicAccessBlockChangesExceptDeploy',
        Effect: 'Deny',
        Action: ['s3:PutAccountPublicAccessBlock'],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': deployers } },
      },
    ],
  };

  const regions: ScpDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyOutsideAllowedRegions',
        Effect: 'Deny',
        NotAction: [
          'iam:*',
          'organizations:*',
          'sts:*',
          'support:*',
          'budgets:*',
          'ce:*',
          'cloudfront:*',
          'route53:*',
          'route53domains:*',
          'waf:*',
          'health:*',
          'trustedadvisor:*',
          'account:*',
          'signin:*',
          's3:GetAccountPublicAccessBlock',
          's3:ListAllMyBuckets',
        ],
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': options.allowedRegions } },
      },
    ],
  };

  const policies = {
    'deny-cloudtrail-tampering': cloudTrail,
    'deny-public-access-block-changes': publicAccessBlock,
    'protect-breakglass-roles': protect,
    'region-allowlist': regions,
  };
  for (const [name, policy] of Object.entries(policies)) {
    const size = JSON.stringify(policy).length;
    if (size > SCP_SIZE_LIMIT) {
      throw new Error(
        `guardrail ${name} is ${size} characters for ${accounts.length} accounts, over the ${SCP_SIZE_LIMIT}-character ` +
          'SCP limit: render it per OU with fewer accounts',
      );
    }
  }
  return policies;
}

/** One SCP as the file `infra/guardrails/<name>.json` holds it. */
export function renderGuardrail(policy: ScpDocument): string {
  return `${JSON.stringify(policy, null, 2)}\n`;
}
