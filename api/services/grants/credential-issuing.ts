/**
 * Issuing: date-conditioned credentials and console sessions for the requester's own active grant, and the
 * small status read the CLI re-validates its cache with. Every issue and every refusal is audited.
 */

import type { RoleConfig } from '../../config/schema.js';
import { isOwnRequest, isRequesterFor, requireMfa } from '../../domain/access.js';
import { DomainError } from '../../domain/errors.js';
import { findRole } from '../../domain/lifecycle.js';
import {
  effectiveExpiration,
  REQUEST_TAG,
  REQUESTER_TAG,
  roleSessionName,
  sessionDurationSeconds,
  sessionPolicy,
  sessionTagValue,
  sourceIdentity,
} from '../../domain/policies.js';
import { type AccessRequest, type AuditEventDraft, actorOf, type Caller } from '../../domain/types.js';
import type { AssumeRoleInput } from '../../ports/aws.js';
import { ConcurrentUpdateError } from '../../ports/store.js';
import {
  type ConsoleSession,
  type CredentialProcessOutput,
  eventFor,
  type GrantServiceDeps,
  type GrantStatus,
} from './shared.js';

const SIGNIN_URL_LIFETIME_MS = 15 * 60_000;
/** Guarded commits of one issue; parallel issues for the same grant conflict on its item now and then. */
const MAX_COMMIT_ROUNDS = 10;

export class CredentialIssuing {
  constructor(private readonly deps: GrantServiceDeps) {}

  get simulated(): boolean {
    return this.deps.aws.mode === 'simulated';
  }

  /**
   * `credential_process` credentials for the requester's own active grant. They are handed out only after
   * `credentials.issued` has committed while the grant was still active: a revoke (or expiry) that commits first
   * turns this call into 409 `grant_not_active`, and the session STS already made is never returned (its
   * request tag is what the revocation policy denies).
   */
  async issueCredentials(caller: Caller, id: string): Promise<CredentialProcessOutput> {
    const { request, role, session, input, policyEnd } = await this.assume(caller, id, 'credentials');
    const expiration = effectiveExpiration(session.expiration, policyEnd);
    await this.commitWhileActive(
      caller,
      request,
      'credentials',
      eventFor(request, 'credentials.issued', actorOf(caller), {
        accessKeyId: session.accessKeyId,
        expiration: expiration.toISOString(),
        stsExpiration: session.expiration.toISOString(),
        stsRequestId: session.stsRequestId,
        sessionPolicy: input.policy,
        policyArns: input.policyArns,
        // A documented opt-in: the session may assume further roles, which carry neither the hard stop nor the tag.
        allowRoleChaining: role.allowRoleChaining,
        durationSeconds: input.durationSeconds,
        roleSessionName: input.roleSessionName,
        sourceIdentity: input.sourceIdentity,
        assumedRoleArn: session.assumedRoleArn,
        packedPolicySize: session.packedPolicySize,
      }),
    );
    return {
      Version: 1,
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: session.secretAccessKey,
      SessionToken: session.sessionToken,
      Expiration: expiration.toISOString(),
    };
  }

  /**
   * A console sign-in URL for the requester's own active grant. The console session lasts as long as the
   * credentials it is made from (no `SessionDuration` can be sent with chained credentials): the rest of the
   * grant within [900, 3600] seconds. When less than 15 minutes remain it outlives the grant, but the session
   * policy denies every action from the grant's end.
   */
  async openConsole(caller: Caller, id: string): Promise<ConsoleSession> {
    const { request, role, session, input, policyEnd, now } = await this.assume(caller, id, 'console');
    let token: string;
    try {
      token = await this.deps.aws.federation.signinToken(session, request.roleArn);
    } catch (error) {
      await this.recordRefusal(caller, request, id, 'console', error);
      throw error;
    }
    const url = this.deps.aws.federation.loginUrl(
      token,
      request.roleArn,
      this.deps.publicUrl,
      this.deps.config.aws.region,
    );
    const expiresAt = effectiveExpiration(session.expiration, policyEnd);
    const signinUrlExpiresAt = new Date(now.getTime() + SIGNIN_URL_LIFETIME_MS).toISOString();
    await this.commitWhileActive(
      caller,
      request,
      'console',
      eventFor(request, 'console.issued', actorOf(caller), {
        accessKeyId: session.accessKeyId,
        durationSeconds: input.durationSeconds,
        expiresAt: expiresAt.toISOString(),
        signinUrlExpiresAt,
        stsExpiration: session.expiration.toISOString(),
        stsRequestId: session.stsRequestId,
        sessionPolicy: input.policy,
        policyArns: input.policyArns,
        allowRoleChaining: role.allowRoleChaining,
        roleSessionName: input.roleSessionName,
        sourceIdentity: input.sourceIdentity,
      }),
    );
    return { url, expiresAt: expiresAt.toISOString(), signinUrlExpiresAt, simulated: this.simulated };
  }

  /** Whether the requester's own grant still serves cached credentials (read-only, not audited). */
  async grantStatus(caller: Caller, id: string): Promise<GrantStatus> {
    const request = await this.deps.store.getRequest(id);
    if (!request) throw new DomainError('not_found', `no request ${id}`);
    if (!isOwnRequest(request, caller)) {
      throw new DomainError('forbidden', 'only the requester can check this grant');
    }
    const now = this.deps.clock.now();
    const active =
      request.status === 'active' &&
      Boolean(request.startAt && request.endAt) &&
      now >= new Date(request.startAt!) &&
      now < new Date(request.endAt!);
    const revocations = await this.deps.ledger.alive(request.roleArn, now);
    const latest =
      revocations
        .map((entry) => entry.revokedAt)
        .sort()
        .at(-1) ?? null;
    return {
      id: request.id,
      roleId: request.roleId,
      status: request.status,
      active,
      endAt: request.endAt ?? null,
      lastRevocationOnRoleAt: latest,
    };
  }

  /** The checks and the AssumeRole call shared by credentials and console; refusals are recorded here. */
  private async assume(caller: Caller, id: string, purpose: 'credentials' | 'console') {
    const request = await this.deps.store.getRequest(id);
    try {
      if (!request) throw new DomainError('not_found', `no request ${id}`);
      // Every refusal, a 403 too, is recorded once below as `credentials.refused` (never also access.forbidden).
      const role = this.eligibleRole(request, caller, purpose);
      const now = this.deps.clock.now();
      this.requireWindow(request, now);
      const policyEnd = request.endAt!;
      const input = this.assumeRoleInput(request, role, now);
      const session = await this.deps.aws.sts.assumeRole(input);
      return { request, role, session, input, policyEnd, now };
    } catch (error) {
      await this.recordRefusal(caller, request, id, purpose, error);
      throw error;
    }
  }

  /**
   * Commits the issue event only while the grant is still active (the store's guard), so nothing is handed out
   * after a revocation or expiry has committed — also one that committed while AssumeRole was in flight. When
   * the guarded commit loses, the grant is read again: no longer active (or past its end) is 409
   * `grant_not_active`; still active (a conflicting write, e.g. a parallel issue) commits again. Refusals are
   * audited.
   */
  private async commitWhileActive(
    caller: Caller,
    request: AccessRequest,
    purpose: 'credentials' | 'console',
    event: AuditEventDraft,
  ): Promise<void> {
    try {
      for (let round = 1; ; round++) {
        try {
          await this.deps.requests.record([event], { requestId: request.id, status: 'active' });
          return;
        } catch (error) {
          if (!(error instanceof ConcurrentUpdateError)) throw error;
          const current = await this.deps.store.getRequest(request.id);
          if (!current) throw new DomainError('not_found', `no request ${request.id}`);
          this.requireWindow(current, this.deps.clock.now());
          if (round >= MAX_COMMIT_ROUNDS) {
            throw new DomainError('concurrent_update', 'the grant kept changing; try again');
          }
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * round));
        }
      }
    } catch (error) {
      await this.recordRefusal(caller, request, request.id, purpose, error);
      throw error;
    }
  }

  private eligibleRole(request: AccessRequest, caller: Caller, purpose: string): RoleConfig {
    if (!isOwnRequest(request, caller)) {
      throw new DomainError('forbidden', `only the requester can get ${purpose} for this grant`);
    }
    const role = findRole(this.deps.config, request.roleId);
    if (!role) throw new DomainError('unknown_role', `role ${request.roleId} is no longer configured`);
    // Groups come from the token of this call, so removing someone from the group stops issuing at once.
    if (!isRequesterFor(role, caller)) {
      throw new DomainError('not_requester', `you are no longer in a group allowed to use ${role.id}`, {
        roleId: role.id,
      });
    }
    requireMfa(this.deps.config, caller, purpose === 'console' ? 'console access' : 'fetching credentials');
    return role;
  }

  private requireWindow(request: AccessRequest, now: Date): void {
    // `requestStatus`, not `status`: that member of a problem document is the HTTP status.
    if (request.status !== 'active' || !request.startAt || !request.endAt) {
      throw new DomainError('grant_not_active', `the grant is ${request.status}, not active`, {
        requestStatus: request.status,
      });
    }
    if (now < new Date(request.startAt) || now >= new Date(request.endAt)) {
      throw new DomainError(
        'grant_not_active',
        `the grant is valid from ${request.startAt} to ${request.endAt}`,
        {
          requestStatus: request.status,
          startAt: request.startAt,
          endAt: request.endAt,
        },
      );
    }
  }

  /** The exact AssumeRole parameters for a grant at `now`. */
  assumeRoleInput(request: AccessRequest, role: RoleConfig, now: Date): AssumeRoleInput {
    const externalId = this.deps.config.aws.externalId;
    return {
      roleArn: request.roleArn,
      roleSessionName: roleSessionName(request.requester.email, request.id),
      sourceIdentity: sourceIdentity(request.requester.email),
      tags: [
        { Key: REQUEST_TAG, Value: request.id },
        { Key: REQUESTER_TAG, Value: sessionTagValue(request.requester.email) },
      ],
      ...(externalId ? { externalId } : {}),
      policy: sessionPolicy(request.endAt!, {
        managedSessionPolicies: role.sessionPolicyArns.length > 0,
        allowRoleChaining: role.allowRoleChaining,
      }),
      policyArns: [...role.sessionPolicyArns],
      durationSeconds: sessionDurationSeconds(now, request.endAt!),
    };
  }

  private async recordRefusal(
    caller: Caller,
    request: AccessRequest | null,
    id: string,
    purpose: 'credentials' | 'console',
    error: unknown,
  ): Promise<void> {
    const code = error instanceof DomainError ? error.code : 'internal';
    const data: Record<string, unknown> = {
      purpose,
      reason: code,
      detail: error instanceof DomainError ? error.message : 'internal error',
      ...(error instanceof DomainError && typeof error.extra.awsError === 'string'
        ? { awsError: error.extra.awsError }
        : {}),
    };
    try {
      await this.deps.requests.record([
        request
          ? eventFor(request, 'credentials.refused', actorOf(caller), data)
          : { type: 'credentials.refused', actor: actorOf(caller), data: { ...data, requestedId: id } },
      ]);
    } catch (recordError) {
      this.deps.logger.error({ err: recordError, requestId: id }, 'could not record credentials.refused');
    }
  }
}
