/** A role in a workload account that the broker may hand out, and the role it uses there to revoke early. */
import { Duration, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import {
  ISSUER_ROLE_NAME,
  REQUEST_TAG_KEY,
  REQUESTER_TAG_KEY,
  REVOCATION_POLICY_NAME,
  REVOKER_ROLE_NAME,
  REVOKER_TAG_VALUE,
  roleArn,
  TARGET_TAG_KEY,
  TARGET_TAG_VALUE,
  TRANSITIONS_ROLE_NAME,
} from './names.js';

/** One trust statement: which action it allows, and only under which conditions. */
export interface TrustStatement {
  sid: string;
  action: string;
  conditions: Record<string, Record<string, string | string[]>>;
}

/**
 * The broker's issuer role as a trusting principal, one statement per STS action. IAM authorises
 * `sts:AssumeRole`, `sts:SetSourceIdentity` and `sts:TagSession` as separate actions, each with its own condition
 * keys: a condition on a key the action does not have (ExternalId on TagSession, a request tag on
 * SetSourceIdentity) never matches, so one combined statement would refuse the latter two under a strict
 * evaluator. AWS's own session-tag examples give each action its own statement for the same reason.
 */
class IssuerTrust extends iam.ArnPrincipal {
  constructor(
    private readonly arns: string[],
    private readonly statements: TrustStatement[],
  ) {
    super(arns[0]!);
  }

  override addToAssumeRolePolicy(document: iam.PolicyDocument): void {
    for (const statement of this.statements) {
      document.addStatements(
        new iam.PolicyStatement({
          sid: statement.sid,
          effect: iam.Effect.ALLOW,
          principals: this.arns.map((arn) => new iam.ArnPrincipal(arn)),
          actions: [statement.action],
          conditions: statement.conditions,
        }),
      );
    }
  }
}

/** STS's own pattern for SourceIdentity (2-64 of `[\w+=,.@-]`), as an IAM wildcard: at least two characters. */
const SOURCE_IDENTITY_PATTERN = '??*';

/**
 * The trust statements of a break-glass target role. The broker always sets SourceIdentity and the per-grant
 * session tag; a session without that tag could not be singled out by an early revocation, so AssumeRole also
 * requires it (AssumeRole has the `aws:RequestTag` key), and TagSession admits only the broker's two keys, so a
 * caller cannot add a tag that a revocation or an ABAC policy would then trust.
 */
export function targetTrustStatements(externalId: string): TrustStatement[] {
  return [
    {
      sid: 'BrokerAssumesWithExternalIdAndSourceIdentity',
      action: 'sts:AssumeRole',
      conditions: {
        StringEquals: { 'sts:ExternalId': externalId },
        Null: { 'sts:SourceIdentity': 'false', [`aws:RequestTag/${REQUEST_TAG_KEY}`]: 'false' },
      },
    },
    {
      sid: 'BrokerSetsSourceIdentity',
      action: 'sts:SetSourceIdentity',
      conditions: {
        Null: { 'sts:SourceIdentity': 'false' },
        StringLike: { 'sts:SourceIdentity': SOURCE_IDENTITY_PATTERN },
        StringNotLike: { 'sts:SourceIdentity': 'aws:*' },
      },
    },
    {
      sid: 'BrokerTagsSessionWithGrant',
      action: 'sts:TagSession',
      conditions: {
        Null: { [`aws:RequestTag/${REQUEST_TAG_KEY}`]: 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [REQUEST_TAG_KEY, REQUESTER_TAG_KEY] },
      },
    },
  ];
}

/** Renders a resolved CloudFormation value the way cdk-nag names it in findings (`arn:<AWS::Partition>:…`). */
function renderForNag(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (object?.Ref) return `<${object.Ref}>`;
  if (object?.['Fn::Join']) {
    const [separator, parts] = object['Fn::Join'];
    return parts.map(renderForNag).join(separator);
  }
  return JSON.stringify(value);
}

export interface BreakglassTargetRoleProps {
  /** Role name; `breakglass-` is the convention the guardrail SCP protects (e.g. `breakglass-prod-admin`). */
  roleName: string;
  /** The shared-services account that runs the broker. */
  brokerAccountId: string;
  /** Must match `aws.externalId` in the broker's config. */
  externalId: string;
  /** 1 h is all a chained AssumeRole can get, so more only matters for other callers. */
  maxSessionDuration?: Duration;
  managedPolicies?: iam.IManagedPolicy[];
  inlinePolicies?: Record<string, iam.PolicyDocument>;
  /**
   * What the role is designed to allow, as its permissions boundary. The broker may write inline policies only on
   * roles with a boundary, so even an `Allow *` it wrote could grant nothing beyond this. Defaults to the role's one
   * managed policy, or to a managed policy holding its inline policies' statements; required otherwise.
   */
  permissionsBoundary?: iam.IManagedPolicy;
  description?: string;
}

/** The boundary that equals what the role is designed to allow (see `permissionsBoundary`). */
function designedBoundary(scope: Construct, props: BreakglassTargetRoleProps): iam.IManagedPolicy {
  if (props.permissionsBoundary) return props.permissionsBoundary;
  const managed = props.managedPolicies ?? [];
  const inline = Object.values(props.inlinePolicies ?? {});
  if (managed.length === 1 && inline.length === 0) return managed[0]!;
  if (managed.length === 0 && inline.length > 0) {
    const document = new iam.PolicyDocument();
    for (const policy of inline) {
      const statements = (policy.toJSON() as { Statement?: unknown[] } | undefined)?.Statement ?? [];
      for (const statement of statements) document.addStatements(iam.PolicyStatement.fromJson(statement));
    }
    return new iam.ManagedPolicy(scope, 'Boundary', {
      managedPolicyName: `${props.roleName}-boundary`,
      description: `What ${props.roleName} is designed to allow: its permissions boundary`,
      document,
    });
  }
  throw new Error(
    `BreakglassTargetRole ${props.roleName}: pass permissionsBoundary (what the role is designed to allow); it ` +
      'cannot be derived from several managed policies, or from managed and inline policies together',
  );
}

/**
 * A break-glass target role: trusts only the broker's issuer role, only with a SourceIdentity (the requester's
 * email, visible in CloudTrail on every call) and the ExternalId, and allows session tags so a revocation can
 * single out one grant's sessions. Carries the tag the issuer role's permissions are conditioned on.
 */
export class BreakglassTargetRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BreakglassTargetRoleProps) {
    super(scope, id);
    const issuer = new IssuerTrust(
      [roleArn(props.brokerAccountId, ISSUER_ROLE_NAME, Stack.of(this).partition)],
      targetTrustStatements(props.externalId),
    );
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: props.description ?? 'Break-glass role handed out by the Breakglass broker',
      assumedBy: issuer,
      permissionsBoundary: designedBoundary(this, props),
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
      ...(props.managedPolicies ? { managedPolicies: props.managedPolicies } : {}),
      ...(props.inlinePolicies ? { inlinePolicies: props.inlinePolicies } : {}),
    });
    Tags.of(this.role).add(TARGET_TAG_KEY, TARGET_TAG_VALUE);
    for (const policy of props.managedPolicies ?? []) {
      acknowledge(
        this.role,
        `AwsSolutions-IAM4[Policy::${renderForNag(Stack.of(this).resolve(policy.managedPolicyArn))}]`,
        'The permissions of a break-glass role are the point of the role and are chosen by its owner; the grant ' +
          'is time-bound by the session policy the broker attaches.',
      );
    }
  }
}

export interface BreakglassRevokerRoleProps {
  brokerAccountId: string;
  externalId: string;
}

/**
 * One per workload account: IAM is per account, so the broker revokes early by assuming this role, which may
 * only read and write inline policies of roles tagged as break-glass targets (IAM has no condition key for an
 * inline policy's name; the broker's code writes only `breakglass-revocations`, and the guardrail SCP keeps
 * everyone else off these roles).
 */
export class BreakglassRevokerRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BreakglassRevokerRoleProps) {
    super(scope, id);
    // The API revokes; the sweeper retries revocations AWS refused the first time.
    const brokerRoles = [ISSUER_ROLE_NAME, TRANSITIONS_ROLE_NAME].map((name) =>
      roleArn(props.brokerAccountId, name, Stack.of(this).partition),
    );
    const issuer = new IssuerTrust(brokerRoles, [
      {
        sid: 'BrokerAssumesWithExternalId',
        action: 'sts:AssumeRole',
        conditions: { StringEquals: { 'sts:ExternalId': props.externalId } },
      },
    ]);
    this.role = new iam.Role(this, 'Role', {
      roleName: REVOKER_ROLE_NAME,
      description: `Lets the Breakglass broker write the ${REVOCATION_POLICY_NAME} policy on break-glass roles`,
      assumedBy: issuer,
      maxSessionDuration: Duration.hours(1),
    });
    const allRoles = Stack.of(this).formatArn({
      service: 'iam',
      region: '',
      resource: 'role',
      resourceName: '*',
    });
    const revoke = new iam.Policy(this, 'Revoke', {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          // Only roles with a permissions boundary: whatever is written there cannot exceed the boundary.
          sid: 'RevokeBreakglassSessions',
          actions: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
          resources: [allRoles],
          conditions: {
            StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: TARGET_TAG_VALUE },
            Null: { 'iam:PermissionsBoundary': 'false' },
          },
        }),
        new iam.PolicyStatement({
          sid: 'ReadBreakglassRoles',
          actions: ['iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:GetRole'],
          resources: [allRoles],
          conditions: { StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: TARGET_TAG_VALUE } },
        }),
      ],
    });
    Tags.of(this.role).add(TARGET_TAG_KEY, REVOKER_TAG_VALUE);
    acknowledge(
      revoke,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::${Stack.of(this).account}:role/*]`,
      `Break-glass roles are added over time: limited to roles tagged ${TARGET_TAG_KEY}=${TARGET_TAG_VALUE}.`,
    );
  }
}
