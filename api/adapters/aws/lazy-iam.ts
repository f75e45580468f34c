/**
 * IAM adapters loaded on first use. IAM is written only to revoke an active grant early (and read by
 * `doctor`), so the IAM client stays out of every function's cold start until a revocation needs it.
 */
import type { RoleDescription, RolePolicies } from '../../ports/aws.js';

/** A `RolePolicies` that loads the real adapter on its first call; a failed load is tried again next time. */
export class LazyRolePolicies implements RolePolicies {
  private loading: Promise<RolePolicies> | null = null;

  constructor(private readonly load: () => Promise<RolePolicies>) {}

  private adapter(): Promise<RolePolicies> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = null;
      throw error;
    });
    return this.loading;
  }

  async getRolePolicy(roleName: string, policyName: string): Promise<string | null> {
    return (await this.adapter()).getRolePolicy(roleName, policyName);
  }

  async putRolePolicy(roleName: string, policyName: string, document: string): Promise<void> {
    return (await this.adapter()).putRolePolicy(roleName, policyName, document);
  }

  async deleteRolePolicy(roleName: string, policyName: string): Promise<void> {
    return (await this.adapter()).deleteRolePolicy(roleName, policyName);
  }

  async listRolePolicies(roleName: string): Promise<string[]> {
    return (await this.adapter()).listRolePolicies(roleName);
  }

  async getRole(roleName: string): Promise<RoleDescription | null> {
    return (await this.adapter()).getRole(roleName);
  }
}
