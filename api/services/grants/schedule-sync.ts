/** Schedule sync: puts every time-driven lifecycle transition on EventBridge Scheduler (the sweeper is the fallback). */
import { DomainError } from '../../domain/errors.js';
import {
  atExpression,
  knownSchedules,
  type PlannedTransition,
  plannedTransitions,
} from '../../domain/policies.js';
import type { AccessRequest, AuditEvent, AuditEventDraft, CommittedEvent } from '../../domain/types.js';
import { eventFor, type GrantServiceDeps, SYSTEM } from './shared.js';

/** Lifecycle events after which the set of due schedules can change. */
const SCHEDULE_TRIGGERS = new Set<AuditEvent['type']>([
  'request.created',
  'request.approved',
  'request.denied',
  'request.cancelled',
  'request.timed_out',
  'grant.activated',
  'grant.extended',
  'grant.expired',
  'grant.revoked',
  'grant.failed',
  'emergency.activated',
  'review.recorded',
  'review.overdue',
]);

export class ScheduleSync {
  constructor(private readonly deps: GrantServiceDeps) {}

  /** True when transitions go to EventBridge Scheduler; otherwise the sweeper alone drives time. */
  get schedulingEnabled(): boolean {
    const scheduler = this.deps.config.aws.scheduler;
    return this.deps.aws.mode === 'live' && Boolean(scheduler.targetArn && scheduler.roleArn);
  }

  /** Creates the schedules a change calls for and deletes the ones it made stale. */
  readonly schedulingListener = {
    name: 'aws-scheduler',
    wants: (events: AuditEventDraft[]): boolean =>
      this.schedulingEnabled && events.some((event) => SCHEDULE_TRIGGERS.has(event.type)),
    afterChange: async (request: AccessRequest, events: CommittedEvent[]): Promise<void> => {
      if (!this.schedulingEnabled || !events.some((event) => SCHEDULE_TRIGGERS.has(event.type))) return;
      await this.syncSchedules(request);
    },
  };

  async syncSchedules(request: AccessRequest): Promise<void> {
    const now = this.deps.clock.now();
    const wanted = plannedTransitions(request);
    const wantedNames = new Set(wanted.map((item) => item.name));
    const events: AuditEventDraft[] = [];
    for (const item of wanted) {
      // A due time already passed is the sweeper's job; Scheduler refuses at() in the past anyway.
      if (new Date(item.at) <= now) continue;
      const event = await this.createSchedule(request, item);
      if (event) events.push(event);
    }
    const stale = knownSchedules(request).filter(
      (item, index, all) =>
        !wantedNames.has(item.name) &&
        new Date(item.at) > now &&
        all.findIndex((other) => other.name === item.name) === index,
    );
    for (const item of stale) {
      const event = await this.deleteSchedule(request, item);
      if (event) events.push(event);
    }
    if (events.length > 0) await this.deps.requests.record(events);
  }

  private async createSchedule(
    request: AccessRequest,
    item: PlannedTransition,
  ): Promise<AuditEventDraft | null> {
    const scheduler = this.deps.config.aws.scheduler;
    const expression = atExpression(item.at);
    const common = { name: item.name, group: scheduler.group, transition: item.transition, dueAt: item.at };
    try {
      const result = await this.deps.aws.scheduler.createSchedule({
        name: item.name,
        group: scheduler.group,
        expression,
        targetArn: scheduler.targetArn!,
        roleArn: scheduler.roleArn!,
        ...(scheduler.deadLetterArn ? { deadLetterArn: scheduler.deadLetterArn } : {}),
        input: JSON.stringify({ requestId: request.id, transition: item.transition }),
        description: `breakglass ${item.transition} ${request.id}`,
      });
      return result === 'created'
        ? eventFor(request, 'schedule.created', SYSTEM, { ...common, expression })
        : null;
    } catch (error) {
      return this.scheduleFailure(request, 'create', common, error);
    }
  }

  private async deleteSchedule(
    request: AccessRequest,
    item: PlannedTransition,
  ): Promise<AuditEventDraft | null> {
    const group = this.deps.config.aws.scheduler.group;
    try {
      const result = await this.deps.aws.scheduler.deleteSchedule(item.name, group);
      this.deps.logger.info({ requestId: request.id, schedule: item.name, result }, 'stale schedule removed');
      return null;
    } catch (error) {
      // A stale schedule that stays behind is harmless: the transition handler finds nothing due.
      return this.scheduleFailure(
        request,
        'delete',
        { name: item.name, group, transition: item.transition, dueAt: item.at },
        error,
      );
    }
  }

  private scheduleFailure(
    request: AccessRequest,
    operation: 'create' | 'delete',
    common: Record<string, unknown>,
    error: unknown,
  ): AuditEventDraft {
    const failure = error instanceof DomainError ? error : null;
    this.deps.logger.warn(
      { err: error, requestId: request.id, schedule: common.name, operation },
      'schedule call failed; the sweeper covers this transition',
    );
    return eventFor(request, 'schedule.failed', SYSTEM, {
      ...common,
      operation,
      reason: failure?.code ?? 'internal',
      ...(typeof failure?.extra.awsError === 'string' ? { awsError: failure.extra.awsError } : {}),
      fallback: 'sweeper',
    });
  }
}
