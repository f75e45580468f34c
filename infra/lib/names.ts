/**
 * Fixed names that cross account boundaries. CloudFormation cannot reference a resource in another account,
 * so the stacks agree on these names instead: target roles trust the issuer role by ARN, the bunker bucket
 * policy names the shipper role, and the guardrail SCPs exempt the same roles.
 */
export const ISSUER_ROLE_NAME = 'breakglass-issuer';
export const SHIPPER_ROLE_NAME = 'breakglass-shipper';
export const TRANSITIONS_ROLE_NAME = 'breakglass-transitions';
export const SCHEDULER_ROLE_NAME = 'breakglass-scheduler';
export const REVOKER_ROLE_NAME = 'breakglass-revoker';
export const DEPLOY_ROLE_NAME = 'breakglass-deploy';
export const TRANSITION_FUNCTION_NAME = 'breakglass-transitions';
export const SCHEDULE_GROUP_NAME = 'breakglass';
/** The inline policy the broker writes to revoke live sessions early. */
export const REVOCATION_POLICY_NAME = 'breakglass-revocations';
/** Tag that marks a role the broker may assume (value `true`) or use to revoke (value `revoker`). */
export const TARGET_TAG_KEY = 'breakglass:target';
export const TARGET_TAG_VALUE = 'true';
export const REVOKER_TAG_VALUE = 'revoker';
/** The session tags the broker sets on every issued session (see api/domain/policies.ts). */
export const REQUEST_TAG_KEY = 'breakglass:request';
export const REQUESTER_TAG_KEY = 'breakglass:requester';

export function roleArn(account: string, name: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:role/${name}`;
}

/** The bunker bucket's deterministic name, so the broker can be configured before the bunker stack exists. */
export function bunkerBucketName(securityAccount: string, region: string): string {
  return `breakglass-audit-${securityAccount}-${region}`;
}
