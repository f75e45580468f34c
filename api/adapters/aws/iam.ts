import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { RoleDescription, RolePolicies } from '../../ports/aws.js';
import { isAwsError, translateAwsError } from '../../ports/aws-errors.js';

const NOT_FOUND = ['NoSuchEntity', 'NoSuchEntityException'];

/** IAM returns policy documents URL-encoded. */
const decode = (document: string) => decodeURIComponent(document);

/** Reads and writes the target roles' inline policies through an injected SDK v3 IAM client. */
export class IamRolePolicies implements RolePolicies {
  constructor(private readonly client: IAMClient) {}

  /** GetRolePolicy, decoded; null when the role has no such inline policy. */
  async getRolePolicy(roleName: string, policyName: string): Promise<string | null> {
    try {
      const output = await this.client.send(
        new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }),
      );
      return output.PolicyDocument ? decode(output.PolicyDocument) : null;
    } catch (error) {
      if (isAwsError(error, ...NOT_FOUND)) return null;
      throw translateAwsError(error, 'iam:GetRolePolicy');
    }
  }

  /** PutRolePolicy (create or replace). */
  async putRolePolicy(roleName: string, policyName: string, document: string): Promise<void> {
    try {
      await this.client.send(
        new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: document }),
      );
    } catch (error) {
      throw translateAwsError(error, 'iam:PutRolePolicy');
    }
  }

  /** DeleteRolePolicy; a policy that is already gone counts as deleted. */
  async deleteRolePolicy(roleName: string, policyName: string): Promise<void> {
    try {
      await this.client.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    } catch (error) {
      if (isAwsError(error, ...NOT_FOUND)) return;
      throw translateAwsError(error, 'iam:DeleteRolePolicy');
    }
  }

  /** Names of every inline policy on the role (all pages). */
  async listRolePolicies(roleName: string): Promise<string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    try {
      do {
        const output = await this.client.send(
          new ListRolePoliciesCommand({ RoleName: roleName, ...(marker ? { Marker: marker } : {}) }),
        );
        names.push(...(output.PolicyNames ?? []));
        marker = output.IsTruncated ? output.Marker : undefined;
      } while (marker);
    } catch (error) {
      throw translateAwsError(error, 'iam:ListRolePolicies');
    }
    return names;
  }

  /** GetRole with the trust policy decoded; null when the role does not exist. */
  async getRole(roleName: string): Promise<RoleDescription | null> {
    try {
      const { Role } = await this.client.send(new GetRoleCommand({ RoleName: roleName }));
      if (!Role) return null;
      return {
        arn: Role.Arn ?? '',
        trustPolicy: Role.AssumeRolePolicyDocument ? decode(Role.AssumeRolePolicyDocument) : '{}',
        maxSessionDuration: Role.MaxSessionDuration ?? 3600,
        tags: Object.fromEntries((Role.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
      };
    } catch (error) {
      if (isAwsError(error, ...NOT_FOUND)) return null;
      throw translateAwsError(error, 'iam:GetRole');
    }
  }
}
