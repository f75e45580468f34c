/**
 * Simulated twins of the AWS adapters (`aws.mode: simulated`, the `npm start` default): no AWS call is made,
 * credentials are visibly fake, and every input is kept so callers and tests can see what would have been sent.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type {
  AssumeRoleInput,
  AwsAdapters,
  ConsoleFederation,
  CredentialIssuer,
  IssuedSession,
  RoleDescription,
  RolePolicies,
  ScheduleSpec,
  TransitionScheduler,
} from '../../ports/aws.js';
import type { Clock } from '../../ports/clock.js';
import { HttpsConsoleFederation } from './federation.js';

export const SIMULATED_KEY_PREFIX = 'ASIASIMULATED';
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function fakeKeyId(): string {
  const bytes = randomBytes(7);
  return SIMULATED_KEY_PREFIX + [...bytes].map((byte) => KEY_ALPHABET[byte % 32]).join('');
}

export class SimulatedCredentialIssuer implements CredentialIssuer {
  readonly calls: AssumeRoleInput[] = [];

  constructor(private readonly clock: Clock) {}

  /** Returns fake credentials that last as long as STS would have granted. */
  async assumeRole(input: AssumeRoleInput): Promise<IssuedSession> {
    this.calls.push(input);
    const session = input.roleSessionName;
    return {
      accessKeyId: fakeKeyId(),
      secretAccessKey: `simulated/${randomBytes(24).toString('base64url')}`,
      sessionToken: `SIMULATED-${randomBytes(48).toString('base64url')}`,
      expiration: new Date(this.clock.now().getTime() + input.durationSeconds * 1000),
      stsRequestId: `simulated-${randomUUID()}`,
      assumedRoleArn:
        input.roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + `/${session}`,
      packedPolicySize: null,
    };
  }
}

export class SimulatedRolePolicies implements RolePolicies {
  /** roleName → policyName → document, as they would stand in IAM. */
  readonly policies = new Map<string, Map<string, string>>();
  readonly calls: Array<{ operation: string; roleName: string; policyName?: string }> = [];

  async getRolePolicy(roleName: string, policyName: string): Promise<string | null> {
    this.calls.push({ operation: 'GetRolePolicy', roleName, policyName });
    return this.policies.get(roleName)?.get(policyName) ?? null;
  }

  async putRolePolicy(roleName: string, policyName: string, document: string): Promise<void> {
    this.calls.push({ operation: 'PutRolePolicy', roleName, policyName });
    const role = this.policies.get(roleName) ?? new Map<string, string>();
    role.set(policyName, document);
    this.policies.set(roleName, role);
  }

  async deleteRolePolicy(roleName: string, policyName: string): Promise<void> {
    this.calls.push({ operation: 'DeleteRolePolicy', roleName, policyName });
    this.policies.get(roleName)?.delete(policyName);
  }

  async listRolePolicies(roleName: string): Promise<string[]> {
    this.calls.push({ operation: 'ListRolePolicies', roleName });
    return [...(this.policies.get(roleName)?.keys() ?? [])];
  }

  /** Simulated mode has no roles to read; `doctor` reports roles as not checked. */
  async getRole(roleName: string): Promise<RoleDescription | null> {
    this.calls.push({ operation: 'GetRole', roleName });
    return null;
  }
}

export class SimulatedTransitionScheduler implements TransitionScheduler {
  readonly schedules = new Map<string, ScheduleSpec>();

  async createSchedule(spec: ScheduleSpec): Promise<'created' | 'exists'> {
    const key = `${spec.group}/${spec.name}`;
    if (this.schedules.has(key)) return 'exists';
    this.schedules.set(key, spec);
    return 'created';
  }

  async deleteSchedule(name: string, group: string): Promise<'deleted' | 'absent'> {
    return this.schedules.delete(`${group}/${name}`) ? 'deleted' : 'absent';
  }
}

export class SimulatedConsoleFederation implements ConsoleFederation {
  private readonly urls = new HttpsConsoleFederation();

  async signinToken(): Promise<string> {
    return `SIMULATED-SIGNIN-${randomBytes(24).toString('base64url')}`;
  }

  loginUrl(signinToken: string, roleArn: string, issuer: string, region: string): string {
    return this.urls.loginUrl(signinToken, roleArn, issuer, region);
  }
}

export function simulatedAws(clock: Clock): AwsAdapters {
  return {
    mode: 'simulated',
    sts: new SimulatedCredentialIssuer(clock),
    iam: new SimulatedRolePolicies(),
    scheduler: new SimulatedTransitionScheduler(),
    federation: new SimulatedConsoleFederation(),
  };
}
