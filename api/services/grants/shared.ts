/** What the three grant use cases share: their dependencies, the documents they return, the audit event shape. */

import type { BreakglassConfig } from '../../config/schema.js';
import type { AccessRequest, Actor, AuditEventDraft } from '../../domain/types.js';
import type { AwsAdapters } from '../../ports/aws.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { RevocationLedger } from '../../ports/revocation-ledger.js';
import type { BrokerStore } from '../../ports/store.js';
import type { RequestService } from '../request-service.js';

/** Exactly what a `credential_process` prints: nothing more, nothing less. */
export interface CredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

export interface ConsoleSession {
  url: string;
  /** When the console stops working: the session duration or the grant end, whichever is first. */
  expiresAt: string;
  /** The sign-in URL itself must be opened before this (AWS: 15 minutes). */
  signinUrlExpiresAt: string;
  simulated: boolean;
}

/** What a CLI needs to decide whether its cached credentials still serve: one small read, no AWS call. */
export interface GrantStatus {
  id: string;
  roleId: string;
  status: AccessRequest['status'];
  /** Active and inside its window: credentials issued for it still work (unless revoked by a cut-off). */
  active: boolean;
  endAt: string | null;
  /**
   * The latest revocation still denied on this grant's role. A revocation that overflows the inline-policy budget
   * denies every session of the role issued before it (`aws:TokenIssueTime`), so credentials fetched before this
   * instant may be cut off and should be fetched again.
   */
  lastRevocationOnRoleAt: string | null;
}

export interface GrantServiceDeps {
  config: BreakglassConfig;
  requests: RequestService;
  store: BrokerStore;
  aws: AwsAdapters;
  ledger: RevocationLedger;
  clock: Clock;
  logger: Logger;
  /** The broker's public URL, shown as the console sign-in `Issuer`. */
  publicUrl: string;
}

export const SYSTEM: Actor = { type: 'system', subject: 'grants' };

export function eventFor(
  request: Pick<AccessRequest, 'id' | 'roleId' | 'accountId'>,
  type: AuditEventDraft['type'],
  actor: Actor,
  data: Record<string, unknown>,
): AuditEventDraft {
  return { type, actor, requestId: request.id, roleId: request.roleId, accountId: request.accountId, data };
}
