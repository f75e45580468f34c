/**
 * Preflight for the target roles: can the broker assume each one the way it will at issue time? Reads each
 * role with `iam:GetRole` and checks the trust policy, the session limit and the break-glass tag.
 */

import type { BreakglassConfig, RoleConfig } from '../config/schema.js';
import { DomainError } from '../domain/errors.js';
import { MAX_SESSION_SECONDS } from '../domain/policies.js';
import type { RoleDescription, RolePolicies } from '../ports/aws.js';
import { roleNameOf } from '../ports/aws-errors.js';

/** Tag that marks a role as a break-glass target (the issuer role may assume only roles carrying it). */
export const TARGET_TAG = 'breakglass:target';
export const REQUIRED_TRUST_ACTIONS = ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'] as const;

export interface DoctorProblem {
  check: 'role' | 'principal' | 'actions' | 'external_id' | 'session_duration' | 'tag' | 'config' | 'aws';
  severity: 'error' | 'warning';
  message: string;
  fix: string;
}

export interface DoctorRoleResult {
  roleId: string;
  roleArn: string;
  status: 'ok' | 'warning' | 'error' | 'skipped';
  maxSessionDuration: number | null;
  problems: DoctorProblem[];
}

export interface DoctorReport {
  ok: boolean;
  mode: 'live' | 'simulated';
  roles: DoctorRoleResult[];
}

interface TrustStatement {
  Effect?: string;
  Principal?: string | { AWS?: string | string[] };
  Action?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** `sts:*`, `*` and `sts:Assume*` all grant `sts:AssumeRole`. */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`, 'i');
  return regex.test(action);
}

function principalMatches(statement: TrustStatement, issuer: string): 'exact' | 'account' | 'none' {
  const principals =
    typeof statement.Principal === 'string' ? [statement.Principal] : list(statement.Principal?.AWS);
  if (principals.includes(issuer)) return 'exact';
  const account = issuer.split(':')[4];
  const partition = issuer.split(':')[1];
  if (principals.some((p) => p === account || p === `arn:${partition}:iam::${account}:root` || p === '*')) {
    return 'account';
  }
  return 'none';
}

function externalIdsOf(statement: TrustStatement): string[] {
  const values: string[] = [];
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    if (!/^String(Equals|Like)(IgnoreCase)?$/.test(operator)) continue;
    for (const [key, value] of Object.entries(keys)) {
      if (key.toLowerCase() === 'sts:externalid') values.push(...list(value));
    }
  }
  return values;
}

/** Checks one role description against the config; pure, so it is tested without AWS. */
export function checkRole(config: BreakglassConfig, role: RoleConfig, description: RoleDescription | null) {
  const problems: DoctorProblem[] = [];
  const issuer = config.aws.issuerRoleArn;
  if (!description) {
    problems.push({
      check: 'role',
      severity: 'error',
      message: `role ${roleNameOf(role.roleArn)} does not exist in account ${role.accountId}`,
      fix: 'create it (infra target-role construct) or correct roleArn',
    });
    return { problems, maxSessionDuration: null };
  }
  let document: { Statement?: TrustStatement | TrustStatement[] } = {};
  try {
    document = JSON.parse(description.trustPolicy) as typeof document;
  } catch {
    problems.push({
      check: 'principal',
      severity: 'error',
      message: 'the trust policy is not valid JSON',
      fix: 'replace it with the trust policy in docs/aws-setup.md',
    });
  }
  const allows = list(document.Statement).filter((statement) => statement.Effect === 'Allow');
  if (!issuer) {
    problems.push({
      check: 'config',
      severity: 'warning',
      message: 'aws.issuerRoleArn is not set, so the trusted principal cannot be checked',
      fix: 'set aws.issuerRoleArn to the broker’s role ARN',
    });
  }
  const trusting = issuer
    ? allows.filter((statement) => principalMatches(statement, issuer) !== 'none')
    : allows;
  if (issuer && trusting.length === 0) {
    problems.push({
      check: 'principal',
      severity: 'error',
      message: `the trust policy does not allow ${issuer}`,
      fix: `add a statement with "Principal": {"AWS": "${issuer}"}`,
    });
  } else if (issuer && !trusting.some((statement) => principalMatches(statement, issuer) === 'exact')) {
    problems.push({
      check: 'principal',
      severity: 'warning',
      message: `the trust policy trusts the whole account rather than ${issuer}`,
      fix: `name the broker role exactly: "Principal": {"AWS": "${issuer}"}`,
    });
  }
  if (trusting.length > 0) {
    const actions = trusting.flatMap((statement) => list(statement.Action));
    const missing = REQUIRED_TRUST_ACTIONS.filter(
      (action) => !actions.some((pattern) => actionMatches(pattern, action)),
    );
    if (missing.length > 0) {
      problems.push({
        check: 'actions',
        severity: 'error',
        message: `the trust policy does not allow ${missing.join(', ')}`,
        fix: `add ${missing.map((action) => `"${action}"`).join(', ')} to the statement's Action`,
      });
    }
    const externalIds = trusting.flatMap(externalIdsOf);
    const expected = config.aws.externalId;
    if (expected && externalIds.length === 0) {
      problems.push({
        check: 'external_id',
        severity: 'warning',
        message: 'the trust policy does not require an ExternalId',
        fix: `add "Condition": {"StringEquals": {"sts:ExternalId": "${expected}"}}`,
      });
    } else if (expected && !externalIds.includes(expected)) {
      problems.push({
        check: 'external_id',
        severity: 'error',
        message: 'the trust policy requires a different ExternalId than aws.externalId',
        fix: 'make aws.externalId and the sts:ExternalId condition match',
      });
    } else if (!expected && externalIds.length > 0) {
      problems.push({
        check: 'external_id',
        severity: 'error',
        message: 'the trust policy requires an ExternalId but aws.externalId is not set',
        fix: 'set aws.externalId to the value in the trust policy',
      });
    }
  }
  if (description.maxSessionDuration < MAX_SESSION_SECONDS) {
    problems.push({
      check: 'session_duration',
      severity: 'error',
      message: `MaxSessionDuration is ${description.maxSessionDuration}s; the broker issues up to ${MAX_SESSION_SECONDS}s`,
      fix: `set MaxSessionDuration to at least ${MAX_SESSION_SECONDS}`,
    });
  }
  if (description.tags[TARGET_TAG] !== 'true') {
    problems.push({
      check: 'tag',
      severity: 'warning',
      message: `the role is not tagged ${TARGET_TAG}=true`,
      fix: `tag it ${TARGET_TAG}=true (the issuer role may only assume tagged roles)`,
    });
  }
  return { problems, maxSessionDuration: description.maxSessionDuration };
}

/**
 * One result per configured role. In simulated mode nothing is read from AWS and each role is `skipped`. With
 * `iamForAccount` (the broker's cross-account access through `aws.revokerRoleName`), each role is read in its own
 * account the way a revocation would reach it, so a revoker role that cannot be assumed shows up here first.
 */
export async function runDoctor(
  config: BreakglassConfig,
  iam: RolePolicies,
  iamForAccount?: (accountId: string, partition: string) => RolePolicies,
): Promise<DoctorReport> {
  const mode = config.aws.mode;
  const roles: DoctorRoleResult[] = [];
  for (const role of config.roles) {
    if (mode === 'simulated') {
      roles.push({
        roleId: role.id,
        roleArn: role.roleArn,
        status: 'skipped',
        maxSessionDuration: null,
        problems: [],
      });
      continue;
    }
    let checked: ReturnType<typeof checkRole>;
    const partition = role.roleArn.split(':')[1] ?? 'aws';
    const reader = iamForAccount ? iamForAccount(role.accountId, partition) : iam;
    try {
      checked = checkRole(config, role, await reader.getRole(roleNameOf(role.roleArn)));
    } catch (error) {
      // translateAwsError already names the operation: say it once.
      const detail = (error instanceof DomainError ? error.message : String(error)).replace(
        /^iam:GetRole failed:\s*/,
        '',
      );
      const revoker = config.aws.revokerRoleName;
      checked = {
        maxSessionDuration: null,
        problems: [
          {
            check: 'aws',
            severity: 'error',
            message: `iam:GetRole failed: ${detail}`,
            fix:
              iamForAccount && revoker
                ? `run doctor as the broker's issuer role; check that ${revoker} exists in account ${role.accountId}, trusts the broker with aws.externalId, and may iam:GetRole tagged roles`
                : 'give the broker iam:GetRole on its target roles and check its AWS credentials',
          },
        ],
      };
    }
    const status = checked.problems.some((p) => p.severity === 'error')
      ? 'error'
      : checked.problems.length > 0
        ? 'warning'
        : 'ok';
    roles.push({ roleId: role.id, roleArn: role.roleArn, status, ...checked });
  }
  return { ok: roles.every((role) => role.status !== 'error'), mode, roles };
}

/** One line per role: `OK`, `WARN` or `FAIL`, the role, and each problem with its fix. */
export function formatDoctorReport(report: DoctorReport): string {
  return report.roles
    .map((role) => {
      const label = { ok: 'OK  ', warning: 'WARN', error: 'FAIL', skipped: 'SKIP' }[role.status];
      const head = `${label} ${role.roleId} (${role.roleArn})`;
      if (role.status === 'skipped') return `${head}: simulated mode, AWS not checked`;
      if (role.problems.length === 0) return `${head}: MaxSessionDuration ${role.maxSessionDuration}s`;
      return `${head}: ${role.problems.map((p) => `${p.message} — fix: ${p.fix}`).join('; ')}`;
    })
    .join('\n');
}
