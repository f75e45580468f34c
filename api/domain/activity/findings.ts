/**
 * The security checklist, as data: which CloudTrail calls a reviewer must see for a break-glass grant. Each
 * rule names its kind, the service (`eventSource`) and the event names. Attempts count as much as successes
 * (a refused `StopLogging` is still a tampering attempt), so findings carry their outcome. docs/audit.md
 * renders this table; a test checks the two agree.
 */
import type { TrailRecord } from './record.js';

export interface FindingRule {
  kind: string;
  description: string;
  eventSource: string;
  eventNames: readonly string[];
}

export const FINDING_RULES: readonly FindingRule[] = [
  {
    kind: 'iam-policy-change',
    description: 'IAM policy created, changed, attached, detached or deleted; permissions boundary changed',
    eventSource: 'iam.amazonaws.com',
    eventNames: [
      'CreatePolicy',
      'CreatePolicyVersion',
      'DeletePolicy',
      'DeletePolicyVersion',
      'SetDefaultPolicyVersion',
      'PutRolePolicy',
      'PutUserPolicy',
      'PutGroupPolicy',
      'DeleteRolePolicy',
      'DeleteUserPolicy',
      'DeleteGroupPolicy',
      'AttachRolePolicy',
      'AttachUserPolicy',
      'AttachGroupPolicy',
      'DetachRolePolicy',
      'DetachUserPolicy',
      'DetachGroupPolicy',
      'PutRolePermissionsBoundary',
      'DeleteRolePermissionsBoundary',
      'PutUserPermissionsBoundary',
      'DeleteUserPermissionsBoundary',
    ],
  },
  {
    kind: 'iam-role-change',
    description: 'IAM role created, deleted or changed, including its trust policy',
    eventSource: 'iam.amazonaws.com',
    eventNames: ['CreateRole', 'DeleteRole', 'UpdateRole', 'UpdateAssumeRolePolicy', 'UpdateRoleDescription'],
  },
  {
    kind: 'iam-user-change',
    description: 'IAM user created, deleted or changed; console password, group membership or MFA changed',
    eventSource: 'iam.amazonaws.com',
    eventNames: [
      'CreateUser',
      'DeleteUser',
      'UpdateUser',
      'CreateLoginProfile',
      'UpdateLoginProfile',
      'DeleteLoginProfile',
      'AddUserToGroup',
      'RemoveUserFromGroup',
      'DeactivateMFADevice',
      'DeleteVirtualMFADevice',
    ],
  },
  {
    kind: 'iam-access-key-change',
    description: 'IAM access key created, activated, deactivated or deleted',
    eventSource: 'iam.amazonaws.com',
    eventNames: ['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey'],
  },
  {
    kind: 'security-group-change',
    description: 'Security group created, deleted, or its rules changed',
    eventSource: 'ec2.amazonaws.com',
    eventNames: [
      'AuthorizeSecurityGroupIngress',
      'AuthorizeSecurityGroupEgress',
      'RevokeSecurityGroupIngress',
      'RevokeSecurityGroupEgress',
      'ModifySecurityGroupRules',
      'UpdateSecurityGroupRuleDescriptionsIngress',
      'UpdateSecurityGroupRuleDescriptionsEgress',
      'CreateSecurityGroup',
      'DeleteSecurityGroup',
    ],
  },
  {
    kind: 'cloudtrail-tampering',
    description: 'CloudTrail logging stopped, a trail deleted or changed, event selection narrowed',
    eventSource: 'cloudtrail.amazonaws.com',
    eventNames: [
      'StopLogging',
      'DeleteTrail',
      'UpdateTrail',
      'PutEventSelectors',
      'PutInsightSelectors',
      'DeleteEventDataStore',
      'StopEventDataStoreIngestion',
    ],
  },
  {
    kind: 'config-tampering',
    description: 'AWS Config recorder stopped or deleted, delivery channel or rules deleted',
    eventSource: 'config.amazonaws.com',
    eventNames: [
      'StopConfigurationRecorder',
      'DeleteConfigurationRecorder',
      'DeleteDeliveryChannel',
      'DeleteConfigRule',
      'DeleteConformancePack',
      'DeleteConfigurationAggregator',
    ],
  },
  {
    kind: 'guardduty-tampering',
    description:
      'GuardDuty detector deleted or changed, members disassociated, suppression filters or IP sets changed',
    eventSource: 'guardduty.amazonaws.com',
    eventNames: [
      'DeleteDetector',
      'UpdateDetector',
      'DisassociateFromMasterAccount',
      'DisassociateFromAdministratorAccount',
      'DisassociateMembers',
      'DeleteMembers',
      'StopMonitoringMembers',
      'CreateFilter',
      'UpdateFilter',
      'CreateIPSet',
      'UpdateIPSet',
      'DeletePublishingDestination',
    ],
  },
  {
    kind: 'securityhub-tampering',
    description: 'Security Hub disabled, standards or controls disabled, members disassociated',
    eventSource: 'securityhub.amazonaws.com',
    eventNames: [
      'DisableSecurityHub',
      'BatchDisableStandards',
      'UpdateStandardsControl',
      'BatchUpdateStandardsControlAssociations',
      'DisableImportFindingsForProduct',
      'DisassociateFromMasterAccount',
      'DisassociateFromAdministratorAccount',
      'DisassociateMembers',
      'DeleteMembers',
    ],
  },
  {
    kind: 'kms-key-deletion',
    description: 'KMS key deletion scheduled, or a key disabled',
    eventSource: 'kms.amazonaws.com',
    eventNames: ['ScheduleKeyDeletion', 'DisableKey'],
  },
  {
    kind: 's3-public-access-change',
    description: 'S3 Block Public Access changed or removed (bucket or account), or a bucket ACL changed',
    eventSource: 's3.amazonaws.com',
    eventNames: [
      'PutBucketPublicAccessBlock',
      'DeleteBucketPublicAccessBlock',
      'PutAccountPublicAccessBlock',
      'DeleteAccountPublicAccessBlock',
      'PutBucketAcl',
    ],
  },
  {
    kind: 's3-bucket-policy-change',
    description: 'S3 bucket policy set or deleted',
    eventSource: 's3.amazonaws.com',
    eventNames: ['PutBucketPolicy', 'DeleteBucketPolicy'],
  },
  {
    kind: 'organizations-change',
    description:
      'Organizations policy (SCP) created, changed, attached or detached; accounts moved or removed',
    eventSource: 'organizations.amazonaws.com',
    eventNames: [
      'CreatePolicy',
      'UpdatePolicy',
      'DeletePolicy',
      'AttachPolicy',
      'DetachPolicy',
      'EnablePolicyType',
      'DisablePolicyType',
      'MoveAccount',
      'RemoveAccountFromOrganization',
      'LeaveOrganization',
    ],
  },
];

export interface Finding {
  kind: string;
  eventName: string;
  eventSource: string;
  eventId: string;
  time: string;
  region: string | null;
  outcome: 'succeeded' | 'failed';
  errorCode: string | null;
  /** The resource the call named, when one of the usual request parameters names it. */
  target: string | null;
}

const RULES_BY_CALL = new Map<string, FindingRule>(
  FINDING_RULES.flatMap((rule) =>
    rule.eventNames.map((name) => [`${rule.eventSource} ${name}`, rule] as const),
  ),
);

/** Request parameters that name what a checklist call changed, in order of preference. */
const TARGET_PARAMETERS = [
  'policyArn',
  'roleName',
  'userName',
  'groupName',
  'policyName',
  'groupId',
  'bucketName',
  'keyId',
  'name',
  'trailName',
  'configurationRecorderName',
  'detectorId',
  'policyId',
  'targetId',
  'accountId',
];

function targetOf(parameters: TrailRecord['requestParameters']): string | null {
  if (!parameters || typeof parameters !== 'object') return null;
  for (const name of TARGET_PARAMETERS) {
    const value = parameters[name];
    if (typeof value === 'string' && value) return value.slice(0, 256);
  }
  return null;
}

/** The checklist finding a record raises, if any. */
export function findingFor(record: TrailRecord): Finding | null {
  const rule = RULES_BY_CALL.get(`${record.eventSource} ${record.eventName}`);
  if (!rule) return null;
  return {
    kind: rule.kind,
    eventName: record.eventName,
    eventSource: record.eventSource,
    eventId: record.eventID,
    time: record.eventTime,
    region: record.awsRegion ?? null,
    outcome: record.errorCode ? 'failed' : 'succeeded',
    errorCode: record.errorCode ?? null,
    target: targetOf(record.requestParameters),
  };
}
