import type { BreakglassConfig } from '../../config/schema.js';
import { encodeLinkComponent } from '../../domain/text.js';
import type { AccessRequest, AuditEventDraft, CommittedEvent } from '../../domain/types.js';
import type { Logger } from '../../ports/logger.js';
import type { MarkerStore } from '../../ports/markers.js';
import type { SlackApi, SlackMessageRef } from '../../ports/slack.js';
import type { LifecycleListener } from '../request-service.js';
import { type MessageContext, requestMessage } from './slack-blocks.js';

export const SLACK_MESSAGE_MARKER = 'slack-msg';
/** Long enough to outlive any request: pending timeout + scheduled start + max duration + post-review. */
const MESSAGE_REF_TTL_SECONDS = 45 * 24 * 3600;

export interface SlackNotifierOptions {
  config: BreakglassConfig;
  slack: SlackApi;
  markers: MarkerStore;
  logger: Logger;
  publicUrl: string;
  /** Appends notification.* events without telling listeners again (no notification loops). */
  recordEvents: (events: AuditEventDraft[]) => Promise<unknown>;
}

/**
 * Posts a Block Kit message when a request needs approval (or an emergency grant starts, with an @here
 * alert) to the role's channel, remembers where it landed, and updates it on every later change.
 */
export class SlackNotifier implements LifecycleListener {
  readonly name = 'slack';
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per request, changes are sent in order, so an update never overtakes the post it updates. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: SlackNotifierOptions) {}

  afterChange(request: AccessRequest, events: CommittedEvent[]): Promise<void> {
    const previous = this.chains.get(request.id) ?? Promise.resolve();
    const work = previous.catch(() => undefined).then(() => this.handle(request, events));
    this.chains.set(request.id, work);
    this.inFlight.add(work);
    void work
      .catch(() => undefined)
      .finally(() => {
        this.inFlight.delete(work);
        if (this.chains.get(request.id) === work) this.chains.delete(request.id);
      });
    return work;
  }

  /** Resolves once every message started so far has been posted or given up on (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  channelFor(roleId: string): string | null {
    const slack = this.options.config.notifications.slack;
    if (!slack) return null;
    const role = this.options.config.roles.find((r) => r.id === roleId);
    return role?.slackChannel ?? slack.channel;
  }

  messageFor(request: AccessRequest) {
    const slack = this.options.config.notifications.slack;
    const template = this.options.config.web.ticketUrlTemplate;
    const context: MessageContext = {
      publicUrl: this.options.publicUrl,
      approveInSlack: slack?.approveInSlack === true,
      slackApprovers: this.options.config.roles.find((r) => r.id === request.roleId)?.approverUsers ?? [],
      ticketUrl:
        template && request.ticket ? template.replace('{ticket}', encodeLinkComponent(request.ticket)) : null,
    };
    return requestMessage(request, context);
  }

  /** Re-renders the request's message from its current state (used after a refused click, too). */
  async refresh(request: AccessRequest): Promise<void> {
    const ref = await this.options.markers.get(SLACK_MESSAGE_MARKER, request.id);
    if (!ref?.channel || !ref.ts) return;
    await this.update({ channel: ref.channel, ts: ref.ts }, request);
  }

  private async handle(request: AccessRequest, events: CommittedEvent[]): Promise<void> {
    const channel = this.channelFor(request.roleId);
    if (!channel) return;
    const types = new Set(events.map((event) => event.type));
    const needsApproval = types.has('request.created') && request.status === 'pending';
    const emergency = types.has('emergency.activated');
    if (needsApproval || emergency) {
      await this.post(channel, request, emergency ? 'emergency' : 'approval_request');
      return;
    }
    await this.refresh(request);
  }

  private async post(channel: string, request: AccessRequest, kind: string): Promise<void> {
    const { slack } = this.options;
    try {
      const ref = await slack.postMessage(channel, this.messageFor(request));
      await this.options.markers.put(SLACK_MESSAGE_MARKER, request.id, MESSAGE_REF_TTL_SECONDS, { ...ref });
      if (slack.delivers)
        await this.record(request, 'notification.sent', { kind, target: ref.channel, ts: ref.ts });
    } catch (error) {
      this.options.logger.error(
        { err: (error as Error).message, requestId: request.id },
        'slack post failed',
      );
      if (slack.delivers)
        await this.record(request, 'notification.failed', { kind, target: channel, error: describe(error) });
    }
  }

  private async update(ref: SlackMessageRef, request: AccessRequest): Promise<void> {
    const { slack } = this.options;
    try {
      await slack.updateMessage(ref, this.messageFor(request));
    } catch (error) {
      this.options.logger.error(
        { err: (error as Error).message, requestId: request.id },
        'slack update failed',
      );
      if (slack.delivers) {
        await this.record(request, 'notification.failed', {
          kind: 'update',
          target: ref.channel,
          status: request.status,
          error: describe(error),
        });
      }
    }
  }

  private async record(
    request: AccessRequest,
    type: 'notification.sent' | 'notification.failed',
    data: object,
  ) {
    await this.options.recordEvents([
      {
        type,
        actor: { type: 'system', subject: 'notifier' },
        requestId: request.id,
        roleId: request.roleId,
        accountId: request.accountId,
        data: { channel: 'slack', ...data },
      },
    ]);
  }
}

/** An error's name and Slack error code only: SDK errors can carry request details we do not want stored. */
export function describe(error: unknown): string {
  const e = error as { code?: unknown; data?: { error?: unknown }; name?: unknown; message?: unknown };
  const slackCode = typeof e?.data?.error === 'string' ? e.data.error : null;
  const text = slackCode ?? (typeof e?.message === 'string' ? e.message : String(error));
  return text.slice(0, 200);
}
