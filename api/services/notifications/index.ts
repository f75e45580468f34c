/** Wires Slack and webhooks to the request lifecycle from config; secrets come from the env vars it names. */
import type { BreakglassConfig } from '../../config/schema.js';
import type { AccessRequest, AuditEventDraft } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { MarkerStore } from '../../ports/markers.js';
import type { SlackApi } from '../../ports/slack.js';
import type { RequestService } from '../request-service.js';
import { SlackInteractions } from './slack-interactions.js';
import { SlackNotifier } from './slack-notifier.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';

export interface Notifications {
  slack: SlackNotifier | null;
  interactions: SlackInteractions | null;
  webhooks: WebhookDispatcher | null;
  /** Resolves when every notification started so far is done (tests, graceful shutdown). */
  idle(): Promise<void>;
}

export interface NotificationOptions {
  config: BreakglassConfig;
  requests: RequestService;
  markers: MarkerStore;
  logger: Logger;
  clock: Clock;
  publicUrl: string;
  getRequest: (id: string) => Promise<AccessRequest | null>;
  /** Appends events without telling listeners (used for webhook delivery failures). */
  appendEvents: (events: AuditEventDraft[]) => Promise<unknown>;
  /** The Slack client chosen by the composition root (the log-only twin without a token); null without Slack. */
  slackApi: SlackApi | null;
  env?: NodeJS.ProcessEnv;
  fetchImpl?: typeof fetch;
}

export function setupNotifications(options: NotificationOptions): Notifications {
  const { config, requests, logger } = options;
  const env = options.env ?? process.env;
  let slack: SlackNotifier | null = null;
  let interactions: SlackInteractions | null = null;
  const slackConfig = config.notifications.slack;
  const api = options.slackApi;
  if (slackConfig && api) {
    slack = new SlackNotifier({
      config,
      slack: api,
      markers: options.markers,
      logger,
      publicUrl: options.publicUrl,
      recordEvents: (events) => requests.record(events),
    });
    requests.addListener(slack);
    interactions = new SlackInteractions({
      config,
      requests,
      slack: api,
      markers: options.markers,
      notifier: slack,
      logger,
      clock: options.clock,
      signingSecret: env[slackConfig.signingSecretEnv],
      getRequest: options.getRequest,
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
    });
  }
  let webhooks: WebhookDispatcher | null = null;
  if (config.notifications.webhooks.length > 0) {
    const missing = config.notifications.webhooks
      .filter((hook) => !env[hook.secretEnv])
      .map((hook) => hook.secretEnv);
    if (missing.length > 0) {
      throw new Error(`webhook secrets missing from the environment: ${[...new Set(missing)].join(', ')}`);
    }
    webhooks = new WebhookDispatcher({
      hooks: config.notifications.webhooks.map((hook) => ({
        url: hook.url,
        secret: env[hook.secretEnv]!,
        events: hook.events,
      })),
      logger,
      clock: options.clock,
      recordEvents: options.appendEvents,
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
    });
    requests.addListener(webhooks);
  }
  return {
    slack,
    interactions,
    webhooks,
    idle: async () => {
      await Promise.all([slack?.idle(), interactions?.idle(), webhooks?.idle()]);
      // A decision applied by a Slack click notifies the listeners again, a turn after its commit (effects start
      // after the caller's own work): wait for that round to start, then for it to finish.
      await requests.settled();
      await Promise.all([slack?.idle(), webhooks?.idle()]);
    },
  };
}
