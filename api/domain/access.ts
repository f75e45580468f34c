import type { BreakglassConfig, RoleConfig } from '../config/schema.js';
import { DomainError } from './errors.js';
import type { AccessRequest, Caller } from './types.js';

const intersects = (a: readonly string[], b: readonly string[]) => a.some((item) => b.includes(item));

export function isRequesterFor(role: RoleConfig, caller: Pick<Caller, 'groups'>): boolean {
  return intersects(role.requesters, caller.groups);
}

export function isApproverFor(role: RoleConfig, caller: Pick<Caller, 'groups' | 'email'>): boolean {
  return (
    intersects(role.approvers, caller.groups) ||
    role.approverUsers.some((email) => email.toLowerCase() === caller.email.toLowerCase())
  );
}

export function isAuditor(config: BreakglassConfig, caller: Pick<Caller, 'groups'>): boolean {
  return intersects(config.auditors, caller.groups);
}

export function isAdmin(config: BreakglassConfig, caller: Pick<Caller, 'groups'>): boolean {
  return intersects(config.admins, caller.groups);
}

export function isOwnRequest(request: AccessRequest, caller: Pick<Caller, 'subject'>): boolean {
  return request.requester.subject === caller.subject;
}

/** Who may read a request: its requester, approvers of its role, auditors and admins. */
export function canView(
  config: BreakglassConfig,
  role: RoleConfig | undefined,
  request: AccessRequest,
  caller: Caller,
): boolean {
  return (
    isOwnRequest(request, caller) ||
    (role !== undefined && isApproverFor(role, caller)) ||
    isAuditor(config, caller) ||
    isAdmin(config, caller)
  );
}

export function requireAuditor(config: BreakglassConfig, caller: Caller): void {
  if (!isAuditor(config, caller)) {
    throw new DomainError('forbidden', 'only auditors may read the audit log');
  }
}

export function requireMfa(config: BreakglassConfig, caller: Caller, action: string): void {
  if (config.oidc.requireMfa && !caller.mfa) {
    throw new DomainError('mfa_required', `${action} requires a login with multi-factor authentication`);
  }
}
