import type { OpenAPIHono } from '@hono/zod-openapi';
import type { BreakglassConfig } from '../config/schema.js';
import type { Caller } from '../domain/types.js';
import type { Logger } from '../ports/logger.js';
import type { RateLimiter, ThrottleReports } from '../ports/rate-limiter.js';
import type { ReadinessCheck } from '../ports/readiness.js';
import type { TokenVerifier } from '../ports/token-verifier.js';
import type { ActivityService } from '../services/activity.js';
import type { AuditService } from '../services/audit-service.js';
import type { GrantService } from '../services/grant-service.js';
import type { SlackInteractions } from '../services/notifications/slack-interactions.js';
import type { RequestService } from '../services/request-service.js';
import type { Bunker } from '../services/shipper.js';
import type { WebOptions } from './web/options.js';

/** Everything the HTTP layer needs, built once by the server, the Lambda handler or a test. */
export interface AppDeps {
  config: BreakglassConfig;
  requests: RequestService;
  audit: AuditService;
  verifier: TokenVerifier;
  logger: Logger;
  version: string;
  /** Only the local stack sets this; no config key can turn it on. */
  devMode: boolean;
  /** Base URL for links, e.g. `http://127.0.0.1:8787`. */
  publicUrl: string;
  readiness?: ReadinessCheck[];
  /** The data bunker (digest keys, verify against digests); absent in tests that build a bare app. */
  bunker?: Bunker;
  /** How far sealing lags behind commits (reported by `GET /v1/audit/verify`). */
  sealing?: { lag(): Promise<{ unsealed: number; oldestUnsealedAgeSeconds: number | null }> };
  /** AWS credentials and console sign-in (absent in apps built without AWS adapters). */
  grants?: GrantService;
  /** Web sign-in secrets and helpers (see web/options.ts); absent secrets fall back to the environment. */
  web?: WebOptions;
  /** Grant activity reviews from the organisation trail (absent in apps built without one). */
  activity?: ActivityService;
  /** Counts calls for the rate limits (config `limits:`): DynamoDB across instances, or in-memory locally. */
  limiter: RateLimiter;
  /** Owed `access.throttled` reports (DynamoDB across instances, or in-memory locally). */
  throttleReports?: ThrottleReports;
  /** Slack button clicks; absent when Slack is not configured. */
  slack?: SlackInteractions | null;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    caller: Caller;
    deps: AppDeps;
  };
}

export type App = OpenAPIHono<AppEnv>;
