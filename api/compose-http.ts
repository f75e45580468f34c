/**
 * The composition root of the API: the core broker (compose.ts) plus the HTTP app, the token verifier, the audit
 * service, grant activity reviews and the rate-limit counters. Only the API function and the local stack import
 * this file, so the other Lambda functions do not bundle the HTTP layer, the web pages or the CloudTrail reader.
 */
import { resolve } from 'node:path';
import { LazyTrailSource } from './adapters/cloudtrail/lazy.js';
import { JoseTokenVerifier } from './adapters/oidc/token-verifier.js';
import { type BrokerOptions, buildCore, type CoreBroker } from './compose.js';
import { buildSealing, type SealingParts } from './compose-shipping.js';
import type { BreakglassConfig } from './config/schema.js';
import { createApp } from './http/app.js';
import type { App } from './http/env.js';
import { VERSION } from './package-root.js';
import { systemClock } from './ports/clock.js';
import type { CloudTrailSource } from './ports/cloudtrail.js';
import { ActivityService, layoutOf } from './services/activity.js';
import { AuditReads } from './services/audit-reads.js';
import { AuditService } from './services/audit-service.js';

export interface Broker extends CoreBroker, Pick<SealingParts, 'bunker'> {
  app: App;
  audit: AuditService;
  activity: ActivityService;
}

/** The configured organisation trail; its reader (and the S3 client) loads with the first activity review. */
function trailSource(trail: NonNullable<BreakglassConfig['cloudtrail']>, region: string): CloudTrailSource {
  return new LazyTrailSource(
    // The location each source reports (S3TrailSource, DirectoryTrailSource), known before it loads.
    trail.kind === 's3' ? `s3://${trail.bucket}` : resolve(trail.directory),
    async () => (await import('./adapters/cloudtrail/factory.js')).trailSourceFor(trail, region),
  );
}

export function buildBroker(options: BrokerOptions): Broker {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  // The API reads the bunker (audit exports, verify, the signing key), so its sealer comes with one.
  const core = buildCore(options, buildSealing);
  const { requests, store, sealer, bunker, markers, notifications, grants } = core;
  const audit = new AuditService({
    store,
    requests,
    reads: new AuditReads({ limiter: core.limiter, markers, requests, clock, logger }),
    clock,
  });
  const activity = new ActivityService({
    requests,
    store,
    source:
      options.cloudtrail ?? (config.cloudtrail ? trailSource(config.cloudtrail, config.aws.region) : null),
    layout: config.cloudtrail ? layoutOf(config.cloudtrail) : null,
    clock,
    logger,
  });
  const app = createApp({
    config,
    requests,
    audit,
    verifier: options.verifier ?? new JoseTokenVerifier(config.oidc, { clock }),
    logger,
    version: VERSION,
    devMode: options.devMode ?? false,
    publicUrl: options.publicUrl.replace(/\/$/, ''),
    readiness: [...(options.readiness ?? []), sealer.readiness(), bunker.shipper.readiness()],
    bunker,
    sealing: sealer,
    web: { ...options.web, markers, requestEvents: (id, limit) => store.requestEvents(id, limit) },
    slack: notifications.interactions,
    grants,
    activity,
    limiter: core.limiter,
    throttleReports: core.throttleReports,
  });
  return { ...core, app, audit, activity };
}
