import { createHash } from 'node:crypto';
import type { BreakglassConfig, RoleConfig } from '../config/schema.js';
import {
  canView,
  isAdmin,
  isApproverFor,
  isAuditor,
  isOwnRequest,
  isRequesterFor,
} from '../domain/access.js';
import { DomainError } from '../domain/errors.js';
import * as lifecycle from '../domain/lifecycle.js';
import {
  type AccessRequest,
  type AuditEventDraft,
  actorOf,
  type Caller,
  type CommittedEvent,
  type RequestStatus,
  type Transition,
} from '../domain/types.js';
import type { Clock } from '../ports/clock.js';
import { newUlid } from '../ports/ids.js';
import type { Logger } from '../ports/logger.js';
import type { Outbox } from '../ports/outbox.js';
import {
  type BrokerStore,
  type Committed,
  ConcurrentUpdateError,
  type ListPartition,
  type Page,
  type RequestGuard,
} from '../ports/store.js';

/**
 * A post-commit effect (Slack, webhooks, revocation, schedules), told about every committed change it wants.
 * Effects are owed durably: the commit writes an outbox entry naming the listeners that want it, the committing
 * process runs them at once, and the outbox relay runs whatever a crash left undone (at least once). A listener
 * that throws is retried by the relay; one that handles its own failures (and audits them) resolves.
 */
export interface LifecycleListener {
  name: string;
  /** Whether the commit owes this listener an effect; every commit when absent. */
  wants?(events: AuditEventDraft[]): boolean;
  afterChange(request: AccessRequest, events: CommittedEvent[]): Promise<void>;
  /** Told about events recorded without a request change (`record`, `access.forbidden`), e.g. for webhooks. */
  afterRecord?(events: CommittedEvent[]): Promise<void>;
}

export interface ListFilter {
  status?: RequestStatus;
  roleId?: string;
  mine?: boolean;
  approvable?: boolean;
  /** Only requests of roles the caller approves, and not the caller's own (the approver's home page). */
  ofMyRoles?: boolean;
  limit: number;
  cursor?: string;
}

const MAX_DECISION_ATTEMPTS = 25;
/** After a failed effect, the relay retries after this long (doubling per attempt, capped). */
const EFFECT_RETRY_SECONDS = 30;

/** The request use cases: authorisation, the lifecycle rules and atomic persistence with audit events. */
export class RequestService {
  private readonly listeners: LifecycleListener[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly commitHooks: (() => void)[] = [];

  constructor(
    private readonly deps: {
      config: BreakglassConfig;
      store: BrokerStore;
      clock: Clock;
      logger: Logger;
      /** Where owed effects are settled; effects run best-effort in memory only when absent (unit tests). */
      outbox?: Outbox;
    },
  ) {}

  /** Runs `hook` after every commit (the local sealer loop wakes on it). */
  onCommit(hook: () => void): void {
    this.commitHooks.push(hook);
  }

  get config() {
    return this.deps.config;
  }

  addListener(listener: LifecycleListener): void {
    this.listeners.push(listener);
  }

  role(roleId: string): RoleConfig | undefined {
    return lifecycle.findRole(this.deps.config, roleId);
  }

  /** Roles the caller may request. */
  requestableRoles(caller: Caller): RoleConfig[] {
    return this.deps.config.roles.filter((role) => isRequesterFor(role, caller));
  }

  async create(
    caller: Caller,
    input: Omit<lifecycle.CreateInput, 'id'>,
    idempotencyKey?: string,
  ): Promise<{ request: AccessRequest; replayed: boolean }> {
    return this.guard(caller, 'request.create', { roleId: input.roleId }, async () => {
      const outcome = lifecycle.createRequest(
        this.deps.config,
        caller,
        { ...input, id: `req_${newUlid()}` },
        this.now(),
      );
      const claim = idempotencyKey
        ? { subject: caller.subject, key: idempotencyKey, fingerprint: fingerprint(input) }
        : undefined;
      const effects = this.effectsFor('change', outcome.events);
      const committed = await this.committing(() => this.deps.store.createRequest(outcome, claim, effects));
      if (!committed.replayed) this.afterCommit(committed.request, committed, effects);
      return { request: committed.request, replayed: committed.replayed };
    });
  }

  async get(caller: Caller, id: string): Promise<AccessRequest> {
    const request = await this.deps.store.getRequest(id);
    if (!request) throw new DomainError('not_found', `no request ${id}`);
    return this.guard(caller, 'request.read', { requestId: id, roleId: request.roleId }, async () => {
      if (!canView(this.deps.config, this.role(request.roleId), request, caller)) {
        throw new DomainError('forbidden', 'you may not view this request');
      }
      return request;
    });
  }

  async list(caller: Caller, filter: ListFilter): Promise<Page<AccessRequest>> {
    const config = this.deps.config;
    const seesAll = isAuditor(config, caller) || isAdmin(config, caller);
    const approvableRoles = new Set(
      config.roles.filter((role) => isApproverFor(role, caller)).map((role) => role.id),
    );
    const visible = (request: AccessRequest) =>
      seesAll || isOwnRequest(request, caller) || approvableRoles.has(request.roleId);
    const matches = (request: AccessRequest) =>
      visible(request) &&
      (!filter.roleId || request.roleId === filter.roleId) &&
      (!filter.status || request.status === filter.status) &&
      (!filter.mine || isOwnRequest(request, caller)) &&
      (!filter.ofMyRoles || (approvableRoles.has(request.roleId) && !isOwnRequest(request, caller))) &&
      (!filter.approvable || this.awaitsApprovalFrom(request, caller));
    // Cost bounded by what the caller may see: each listing reads only index partitions the caller may see
    // (their own requests, the roles they approve, or everything for auditors), so a person who sees little
    // reads little however large the table grows.
    const page = {
      where: matches,
      limit: filter.limit,
      view: JSON.stringify([filter.status, filter.roleId, filter.mine, filter.approvable]),
      ...(filter.cursor ? { cursor: filter.cursor } : {}),
    };
    const own: ListPartition = { index: 'byRequester', key: caller.subject };
    const inRoleFilter = (roleId: string) => !filter.roleId || filter.roleId === roleId;
    // Auditors may name any role, including one no longer configured; others only the roles they approve.
    const roles = seesAll ? [filter.roleId ?? ''] : [...approvableRoles];
    if (filter.approvable) {
      // Requests waiting for a decision: pending ones, and active grants with an extension to approve.
      const statuses = (['pending', 'active'] as const).filter((s) => !filter.status || filter.status === s);
      const partitions = [...approvableRoles]
        .filter(inRoleFilter)
        .flatMap((roleId) =>
          statuses.map((status): ListPartition => ({ index: 'byRoleStatus', key: `${roleId}#${status}` })),
        );
      if (partitions.length === 0) return { items: [], nextCursor: null };
      return this.deps.store.listRequests({ ...page, partitions });
    }
    if (filter.mine) return this.deps.store.listRequests({ ...page, partitions: [own] });
    if (seesAll && !filter.roleId) {
      const partitions: ListPartition[] = [
        filter.status ? { index: 'byStatus', key: filter.status } : { index: 'byCreated' },
      ];
      return this.deps.store.listRequests({ ...page, partitions });
    }
    const byRole = roles
      .filter(inRoleFilter)
      .map(
        (roleId): ListPartition =>
          filter.status
            ? { index: 'byRoleStatus', key: `${roleId}#${filter.status}` }
            : { index: 'byRole', key: roleId },
      );
    // An auditor's role partitions already hold their own requests.
    return this.deps.store.listRequests({ ...page, partitions: seesAll ? byRole : [own, ...byRole] });
  }

  /**
   * Emergency grants of the caller's roles whose post-review is still open, overdue ones included whatever the
   * grant's status (a late review is still recorded), soonest deadline first. Read from the sparse byDue index,
   * which holds every live request and every unreviewed emergency grant until it is reviewed (past its deadline
   * at `REVIEW_OWED_AT`, see `nextDue`), so the cost follows what is live or owed, not the history.
   */
  async reviewQueue(caller: Caller, limit = 50): Promise<AccessRequest[]> {
    const roles = new Set(
      this.deps.config.roles.filter((role) => isApproverFor(role, caller)).map((role) => role.id),
    );
    if (roles.size === 0) return [];
    const page = await this.deps.store.listRequests({
      partitions: [{ index: 'byDue' }],
      where: (request) =>
        request.postReview !== null &&
        request.postReview.outcome === null &&
        roles.has(request.roleId) &&
        !isOwnRequest(request, caller),
      limit,
    });
    return page.items.sort((a, b) => (a.postReview?.dueAt ?? '').localeCompare(b.postReview?.dueAt ?? ''));
  }

  /**
   * The request if the caller may view it, else null — without recording a refusal. Only for re-rendering a
   * page after a refusal that `guard` has already recorded (one refused action, one `access.forbidden`).
   */
  async peek(caller: Caller, id: string): Promise<AccessRequest | null> {
    const request = await this.deps.store.getRequest(id);
    if (!request || !canView(this.deps.config, this.role(request.roleId), request, caller)) return null;
    return request;
  }

  /** True when the caller may cast an approval on this request now. */
  awaitsApprovalFrom(request: AccessRequest, caller: Caller): boolean {
    const role = this.role(request.roleId);
    if (!role || isOwnRequest(request, caller) || !isApproverFor(role, caller)) return false;
    const approvals =
      request.status === 'pending'
        ? request.approvals
        : request.status === 'active'
          ? request.extension?.approvals
          : null;
    return (
      approvals !== null &&
      approvals !== undefined &&
      !approvals.some((a) => a.approver.subject === caller.subject)
    );
  }

  approve(caller: Caller, id: string, comment: string | null) {
    return this.decide(caller, id, 'request.approve', (request, now) =>
      lifecycle.approve(this.deps.config, request, caller, comment, now),
    );
  }

  deny(caller: Caller, id: string, comment: string) {
    return this.decide(caller, id, 'request.deny', (request, now) =>
      lifecycle.deny(this.deps.config, request, caller, comment, now),
    );
  }

  cancel(caller: Caller, id: string) {
    return this.decide(caller, id, 'request.cancel', (request, now) =>
      lifecycle.cancel(request, caller, now),
    );
  }

  revoke(caller: Caller, id: string, reason: string) {
    return this.decide(caller, id, 'grant.revoke', (request, now) =>
      lifecycle.revoke(this.deps.config, request, caller, reason, now),
    );
  }

  extend(caller: Caller, id: string, input: { durationMinutes: number; reason: string }) {
    return this.decide(caller, id, 'grant.extend', (request, now) =>
      lifecycle.requestExtension(this.deps.config, request, caller, input, now),
    );
  }

  review(caller: Caller, id: string, input: { outcome: 'acknowledged' | 'flagged'; comment: string }) {
    return this.decide(caller, id, 'grant.review', (request, now) =>
      lifecycle.review(this.deps.config, request, caller, input, now),
    );
  }

  /**
   * Applies one time-driven transition if it is due. Safe to call any number of times, from the scheduler and
   * the sweeper at once: the conditional write lets exactly one of them win.
   */
  async applyTransition(id: string, transition: Transition): Promise<AccessRequest | null> {
    return this.commitLoop(async () => {
      const request = await this.deps.store.getRequest(id);
      if (!request) return null;
      const outcome = lifecycle.applyTransition(this.deps.config, request, transition, this.now());
      return outcome ? { request, outcome } : null;
    });
  }

  /** Applies every overdue transition; returns how many were applied. */
  async sweep(limit = 100): Promise<number> {
    const due = await this.deps.store.listDue(this.now(), limit);
    let applied = 0;
    for (const candidate of due) {
      const next = lifecycle.nextDue(candidate);
      if (!next) continue;
      try {
        if (await this.applyTransition(candidate.id, next.transition)) applied += 1;
      } catch (error) {
        this.deps.logger.error({ err: error, requestId: candidate.id }, 'sweeper transition failed');
      }
    }
    return applied;
  }

  /**
   * Records audit events that change no request, such as `credentials.issued`; with `guard`, only while the
   * request is still in that status (ConcurrentUpdateError otherwise; see BrokerStore.appendEvents).
   */
  async record(events: AuditEventDraft[], guard?: RequestGuard): Promise<CommittedEvent[]> {
    const effects = this.effectsFor('record', events);
    const committed = await this.committing(() => this.deps.store.appendEvents(events, effects, guard));
    this.afterCommit(null, committed, effects);
    return committed.events;
  }

  /** Re-reads, decides and writes conditionally until the write lands on the version it was decided on. */
  private async decide(
    caller: Caller,
    id: string,
    action: string,
    step: (request: AccessRequest, now: Date) => lifecycle.Outcome,
  ): Promise<AccessRequest> {
    const decided = await this.commitLoop(async () => {
      const request = await this.deps.store.getRequest(id);
      if (!request) throw new DomainError('not_found', `no request ${id}`);
      const outcome = await this.guard(caller, action, { requestId: id, roleId: request.roleId }, async () =>
        step(request, this.now()),
      );
      return { request, outcome };
    });
    // decide never returns null: every step either throws or yields an outcome.
    return decided!;
  }

  /**
   * Read, decide, write conditionally on the version decided on; when another writer got there first, decide
   * again on what it wrote. `attempt` returns null when there is nothing (left) to do.
   */
  private async commitLoop(
    attempt: () => Promise<{ request: AccessRequest; outcome: lifecycle.Outcome } | null>,
  ): Promise<AccessRequest | null> {
    for (let round = 0; round < MAX_DECISION_ATTEMPTS; round++) {
      const decided = await attempt();
      if (!decided) return null;
      try {
        const effects = this.effectsFor('change', decided.outcome.events);
        const committed = await this.committing(() =>
          this.deps.store.updateRequest(decided.request.version, decided.outcome, effects),
        );
        this.afterCommit(decided.outcome.request, committed, effects);
        return decided.outcome.request;
      } catch (error) {
        if (!(error instanceof ConcurrentUpdateError)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (round + 1)));
      }
    }
    throw new DomainError('concurrent_update', 'the request kept changing; try again');
  }

  /** Runs `work`; when it is refused with a 403, records `access.forbidden` before passing the refusal on. */
  async guard<T>(
    caller: Caller,
    action: string,
    target: { requestId?: string; roleId?: string },
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DomainError && error.isForbidden) {
        await this.recordForbidden(caller, action, error, target);
      }
      throw error;
    }
  }

  async recordForbidden(
    caller: Caller,
    action: string,
    error: DomainError,
    target: { requestId?: string; roleId?: string } = {},
  ): Promise<void> {
    const role = target.roleId ? this.role(target.roleId) : undefined;
    await this.record([
      {
        type: 'access.forbidden',
        actor: actorOf(caller),
        ...(target.requestId ? { requestId: target.requestId } : {}),
        ...(target.roleId ? { roleId: target.roleId } : {}),
        ...(role ? { accountId: role.accountId } : {}),
        data: { action, code: error.code, detail: error.message },
      },
    ]);
  }

  /**
   * Waits (at most `timeoutMs`) for the listener work started so far, including work that work starts. A
   * long-lived server never needs this; Lambda freezes the process when the handler returns, so its handlers
   * call it before returning.
   */
  async settled(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inflight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadline - Date.now());
      });
      await Promise.race([Promise.all([...this.inflight]), timeout]);
      clearTimeout(timer);
    }
  }

  /** The listeners a commit owes an effect: they name the commit's outbox entry. */
  effectsFor(kind: 'change' | 'record', events: AuditEventDraft[]): string[] {
    return this.listeners
      .filter((listener) => (kind === 'record' ? listener.afterRecord !== undefined : true))
      .filter((listener) => listener.wants?.(events) ?? true)
      .map((listener) => listener.name);
  }

  /** Tells the named listeners about a commit; resolves to the names that succeeded (failures are logged). */
  async runEffects(
    effects: string[],
    request: AccessRequest | null,
    events: CommittedEvent[],
    kind: 'change' | 'record' = request ? 'change' : 'record',
  ): Promise<string[]> {
    const done: string[] = [];
    await Promise.all(
      this.listeners
        .filter((listener) => effects.includes(listener.name))
        .map(async (listener) => {
          try {
            if (kind === 'change' && request) await listener.afterChange(request, events);
            else if (kind === 'record') await listener.afterRecord?.(events);
            done.push(listener.name);
          } catch (error) {
            this.deps.logger.error(
              { err: error, listener: listener.name, requestId: request?.id },
              'listener failed; the outbox relay retries it',
            );
          }
        }),
    );
    return done;
  }

  /**
   * Runs a store write, then the commit hooks — also when the write failed, since a write whose response was
   * lost may still have committed, and its events must not wait for the sealer's fallback interval.
   */
  private async committing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      for (const hook of this.commitHooks) hook();
    }
  }

  /**
   * After a commit: run the owed effects and settle the outbox entry. They start on the next turn of the event
   * loop, not inside the caller's continuation: the commit's caller (an HTTP handler writing its response, a
   * sweep going on to the next request) finishes its own synchronous work first instead of waiting behind the
   * listeners' (Slack message building, SDK serialisation and signing of their DynamoDB calls). The outbox entry
   * committed with the change is what makes the effects owed, so starting them a turn later loses nothing, and
   * `settled()` waits for them from this moment on.
   */
  private afterCommit(request: AccessRequest | null, committed: Committed, effects: string[]): void {
    if (effects.length === 0) return;
    const outboxId = committed.outbox;
    const work = nextTurn()
      .then(() => this.runEffects(effects, request, committed.events))
      .then(async (done) => {
        if (!outboxId || !this.deps.outbox) return;
        const retryAt = new Date(this.now().getTime() + EFFECT_RETRY_SECONDS * 1000);
        await this.deps.outbox.settle(outboxId, done, done.length === effects.length, retryAt);
      });
    const tracked = work.catch((error: unknown) => {
      // The entry stays owed; the relay takes it over after its grace period.
      this.deps.logger.error({ err: error, outbox: outboxId }, 'could not settle post-commit effects');
    });
    this.inflight.add(tracked);
    void tracked.finally(() => this.inflight.delete(tracked));
  }

  private now(): Date {
    return this.deps.clock.now();
  }
}

/** Resolves on the event loop's next check phase, after the pending microtasks and I/O callbacks. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function fingerprint(input: unknown): string {
  return createHash('sha256').update(JSON.stringify(input)).digest('hex');
}
