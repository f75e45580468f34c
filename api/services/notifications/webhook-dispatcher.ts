import { createHmac } from 'node:crypto';
import type { AccessRequest, AuditEventDraft, CommittedEvent } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { LifecycleListener } from '../request-service.js';

export interface WebhookTarget {
  url: string;
  secret: string;
  /** Audit event types to send; every type when absent. */
  events?: string[] | undefined;
}

export interface WebhookDispatcherOptions {
  hooks: WebhookTarget[];
  logger: Logger;
  clock: Clock;
  /** Appends notification.failed without telling listeners, so a failing hook cannot feed itself. */
  recordEvents: (events: AuditEventDraft[]) => Promise<unknown>;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  maxAttempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
}

/** `sha256=` + hex HMAC-SHA256 of `${timestamp}.${body}` with the hook's secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A URL fit for the audit log: no credentials, query or fragment (they may hold tokens). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/**
 * Sends audit events to the configured webhooks as signed JSON, retrying with exponential backoff and jitter.
 * Runs after the commit and never blocks or undoes it; a delivery that still fails is recorded as
 * `notification.failed`.
 */
export class WebhookDispatcher implements LifecycleListener {
  readonly name = 'webhooks';
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: WebhookDispatcherOptions) {}

  /** A commit owes this dispatcher a delivery only when some hook takes one of its events. */
  wants(events: AuditEventDraft[]): boolean {
    return events.some(
      (event) => !isOwnReport(event) && this.options.hooks.some((hook) => takes(hook, event)),
    );
  }

  afterChange(_request: AccessRequest, events: CommittedEvent[]): Promise<void> {
    return this.dispatch(events);
  }

  afterRecord(events: CommittedEvent[]): Promise<void> {
    return this.dispatch(events);
  }

  /** Resolves when every delivery started so far has finished or given up. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  dispatch(events: CommittedEvent[]): Promise<void> {
    const deliveries: Promise<void>[] = [];
    for (const event of events) {
      if (isOwnReport(event)) continue;
      for (const hook of this.options.hooks) {
        if (!takes(hook, event)) continue;
        const delivery = this.deliver(hook, event).finally(() => this.inFlight.delete(delivery));
        this.inFlight.add(delivery);
        deliveries.push(delivery);
      }
    }
    return Promise.all(deliveries).then(() => undefined);
  }

  private async deliver(hook: WebhookTarget, event: CommittedEvent): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    const baseDelay = this.options.baseDelayMs ?? 500;
    const sleep = this.options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const fetchImpl = this.options.fetchImpl ?? fetch;
    const body = JSON.stringify(event);
    let lastError = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      // Signed afresh per attempt so the timestamp stays inside a receiver's replay window.
      const timestamp = String(Math.floor(this.options.clock.now().getTime() / 1000));
      try {
        const response = await fetchImpl(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'breakglass-webhooks/1',
            'x-breakglass-event': event.type,
            'x-breakglass-delivery': event.id,
            'x-breakglass-timestamp': timestamp,
            'x-breakglass-signature': signWebhook(hook.secret, timestamp, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
        });
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) return;
        lastError = `HTTP ${response.status}`;
        // A client error other than timeout/rate limit will not change on retry.
        if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
      } catch (error) {
        lastError =
          (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message.slice(0, 200);
      }
      if (attempt < maxAttempts) {
        const delay = baseDelay * 2 ** (attempt - 1);
        await sleep(delay / 2 + Math.random() * (delay / 2));
      }
    }
    const url = redactUrl(hook.url);
    this.options.logger.warn({ url, eventId: event.id, error: lastError }, 'webhook delivery failed');
    await this.options
      .recordEvents([
        {
          type: 'notification.failed',
          actor: { type: 'system', subject: 'notifier' },
          ...(event.requestId ? { requestId: event.requestId } : {}),
          ...(event.roleId ? { roleId: event.roleId } : {}),
          ...(event.accountId ? { accountId: event.accountId } : {}),
          data: {
            channel: 'webhook',
            target: url,
            eventId: event.id,
            eventType: event.type,
            error: lastError,
          },
        },
      ])
      .catch((error: unknown) => {
        this.options.logger.error({ err: (error as Error).message }, 'could not record notification.failed');
      });
  }
}

/** Our own delivery reports never go out again: that is what keeps a dead hook from looping. */
function isOwnReport(event: AuditEventDraft): boolean {
  return (
    event.type.startsWith('notification.') && (event.data as { channel?: unknown }).channel === 'webhook'
  );
}

function takes(hook: WebhookTarget, event: AuditEventDraft): boolean {
  return !hook.events || hook.events.includes(event.type);
}
