/**
 * The composition root: the only place that chooses concrete adapters and wires them to the services. Three
 * builders, so each Lambda function bundles only what it runs: `buildSealing` (compose-shipping.ts, the shipper
 * function), `buildCore` (here: transition and sweeper functions, sealing without the bunker) and, in
 * compose-http.ts, `buildBroker` (the API and the local stack, `buildCore` with the bunker).
 */
import { awsAdaptersFor } from './adapters/aws/index.js';
import { DynamoMarkers } from './adapters/dynamodb/markers.js';
import { DynamoOutbox } from './adapters/dynamodb/outbox.js';
import { DynamoRateLimiter } from './adapters/dynamodb/rate-limiter.js';
import { DynamoRevocationLedger } from './adapters/dynamodb/revocation-ledger.js';
import { DynamoThrottleReports } from './adapters/dynamodb/throttle-reports.js';
import { MemoryRateLimiter } from './adapters/memory/rate-limiter.js';
import { LogOnlySlack, WebApiSlack } from './adapters/slack/client.js';
import { slackWebApi } from './adapters/slack/web-api.js';
import {
  type BrokerOptions,
  buildSealer,
  dynamoClientFor,
  type SealerParts,
  type SealingBuilder,
  storeFor,
} from './compose-sealing.js';
import { systemClock } from './ports/clock.js';
import type { RateLimiter } from './ports/rate-limiter.js';
import type { SlackApi } from './ports/slack.js';
import { GrantService } from './services/grant-service.js';
import { type Notifications, setupNotifications } from './services/notifications/index.js';
import { OutboxRelay } from './services/outbox-relay.js';
import { RequestService } from './services/request-service.js';
import type { SweepTask } from './services/sweeper.js';
import { reportClosedWindows } from './services/throttle-reporting.js';

// buildSealing and lazyRemoteBunker are not re-exported: their file's lazy imports (S3, KMS, jose) would then be
// deployed with every function that imports this one. Import them from compose-shipping.ts.
export { type BrokerOptions, buildSealer, dynamoClientFor, type SealerParts } from './compose-sealing.js';

/** Everything but the HTTP layer and the bunker: what the transition and sweeper functions run. */
export interface CoreBroker extends SealerParts {
  requests: RequestService;
  notifications: Notifications;
  /** Runs post-commit effects a crash or a failure left owed (`outbox.drain()`). */
  outbox: OutboxRelay;
  grants: GrantService;
  markers: DynamoMarkers;
  /** Counts calls for the rate limits; DynamoDB across instances or in memory (config `limits.store`). */
  limiter: RateLimiter;
  /** Owed `access.throttled` reports, committed by the sweep once their window closes. */
  throttleReports: DynamoThrottleReports;
  /** Periodic work the sweeper runs after each sweep. */
  sweepTasks: SweepTask[];
}

/**
 * Requests, grants, notifications, the outbox and the sealer, wired together; no HTTP layer. `sealing` decides
 * whether the sealer ships to the bunker: `buildSealer` (the default: the transition and sweeper functions only
 * seal, so S3, KMS and jose stay out of their bundles) or `buildSealing` (the API, which reads the bunker).
 */
export function buildCore<S extends SealerParts = SealerParts>(
  options: BrokerOptions,
  sealing: SealingBuilder<S> = buildSealer as SealingBuilder<S>,
): CoreBroker & Omit<S, keyof SealerParts> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const dynamodb = options.dynamodb ?? dynamoClientFor(config.aws.region, options.dynamodbEndpoint);
  const store = storeFor(options, dynamodb, clock);
  const outboxStore = new DynamoOutbox({ client: dynamodb, tableName: options.tableName });
  const requests = new RequestService({ config, store, clock, logger, outbox: outboxStore });
  const sealed = sealing(options, store);
  const markers = new DynamoMarkers({ client: dynamodb, tableName: options.tableName, clock });
  const notifications = setupNotifications({
    config,
    requests,
    markers,
    logger,
    clock,
    publicUrl: (config.web.publicUrl ?? options.publicUrl).replace(/\/$/, ''),
    getRequest: (id) => store.getRequest(id),
    appendEvents: (events) => store.appendEvents(events),
    slackApi: slackApiFor(options),
    ...(options.fetch ? { fetchImpl: options.fetch } : {}),
  });
  const aws = options.aws ?? awsAdaptersFor(config, clock);
  const ledger = new DynamoRevocationLedger({ client: dynamodb, tableName: options.tableName });
  const grants = new GrantService({
    config,
    requests,
    store,
    aws,
    ledger,
    clock,
    logger,
    publicUrl: (config.web.publicUrl ?? options.publicUrl).replace(/\/$/, ''),
  });
  // The revocation ledger commits with `grant.revoked` and settles with `revocation.applied`.
  store.addContributor(grants.revocationContributor(ledger));
  requests.addListener(grants.revocationListener);
  requests.addListener(grants.schedulingListener);
  if (!grants.schedulingEnabled) {
    logger.info(
      { awsMode: aws.mode },
      'EventBridge Scheduler not used (simulated mode or aws.scheduler.targetArn/roleArn unset): the sweeper drives every transition',
    );
  }
  const outbox = new OutboxRelay({ outbox: outboxStore, store, requests, clock, logger });
  const sealer = sealed.sealer;
  const limiter =
    config.limits.store === 'dynamodb'
      ? new DynamoRateLimiter({ client: dynamodb, tableName: options.tableName })
      : new MemoryRateLimiter();
  // Owed access.throttled reports are table items the report's own commit consumes (exactly once, crash-proof).
  const throttleReports = new DynamoThrottleReports({ client: dynamodb, tableName: options.tableName });
  store.addContributor(throttleReports.contributor());
  const sweepTasks: SweepTask[] = [
    {
      name: 'throttle-reports',
      run: async () => {
        await reportClosedWindows({
          reports: throttleReports,
          limiter,
          requests,
          logger,
          now: () => clock.now(),
        });
      },
    },
    { name: 'revocation-retry', run: () => grants.retryRevocations() },
    { name: 'outbox-relay', run: () => outbox.drain() },
    // Fallback for a lost stream trigger: nothing committed waits for the sealer longer than one sweep. It only
    // seals; shipping stays with the one sealer function (or the local loop), which the next commit wakes.
    { name: 'sealer', run: () => sealer.sealPending() },
  ];
  return {
    ...sealed,
    store,
    dynamodb,
    sealer,
    requests,
    notifications,
    outbox,
    grants,
    markers,
    limiter,
    throttleReports,
    sweepTasks,
    close: () => {
      dynamodb.destroy();
      sealed.close();
    },
  };
}

/**
 * The Slack client for the `notifications.slack` section: an injected one (tests), the Web API with the bot
 * token from the environment (few, quick retries, so a Slack outage does not pile up work — failures are audited
 * instead), or without a token the log-only twin, so the blocks can still be checked.
 */
function slackApiFor(options: BrokerOptions): SlackApi | null {
  const slack = options.config.notifications.slack;
  if (!slack) return null;
  if (typeof options.slackApi === 'object') return options.slackApi;
  const token = process.env[slack.tokenEnv];
  if (!token) {
    options.logger.info({ tokenEnv: slack.tokenEnv }, 'no Slack token: Slack messages go to the log only');
    return new LogOnlySlack(options.logger.child({ component: 'slack' }));
  }
  if (typeof options.slackApi === 'function') return options.slackApi(token);
  return new WebApiSlack(slackWebApi(token, { retries: 2, timeoutMs: 5000 }));
}
