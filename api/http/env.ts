import type { OpenAPIHono } from '@hono/zod-openapi';
import type { TokenVerifier } from '../adapters/oidc/token-verifier.js';
import type { BreakglassConfig } from '../config/schema.js';
import type { Caller } from '../domain/types.js';
import type { AuditService } from '../services/audit-service.js';
import type { Logger } from '../services/logger.js';
import type { RequestService } from '../services/request-service.js';

/** A readiness probe contributes a named check to `/readyz`. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string; [key: string]: unknown }>;
}

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
}

export interface AppEnv {
  Variables: {
    requestId: string;
    caller: Caller;
    deps: AppDeps;
  };
}

export type App = OpenAPIHono<AppEnv>;
