/** The composition root: builds the broker's services and HTTP app from config and adapters. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoStore } from './adapters/dynamodb/store.js';
import { JoseTokenVerifier, type TokenVerifier } from './adapters/oidc/token-verifier.js';
import type { BreakglassConfig } from './config/schema.js';
import { createApp } from './http/app.js';
import type { App, ReadinessCheck } from './http/env.js';
import { VERSION } from './package-root.js';
import { AuditService } from './services/audit-service.js';
import type { Logger } from './services/logger.js';
import { type BrokerStore, type Clock, systemClock } from './services/ports.js';
import { RequestService } from './services/request-service.js';

export interface BrokerOptions {
  config: BreakglassConfig;
  logger: Logger;
  tableName: string;
  dynamodb?: DynamoDBClient;
  /** For DynamoDB Local: its endpoint; credentials are then dummies. */
  dynamodbEndpoint?: string;
  clock?: Clock;
  verifier?: TokenVerifier;
  devMode?: boolean;
  publicUrl: string;
  readiness?: ReadinessCheck[];
}

export interface Broker {
  app: App;
  store: BrokerStore;
  requests: RequestService;
  audit: AuditService;
  dynamodb: DynamoDBClient;
}

export function dynamoClientFor(region: string, endpoint?: string): DynamoDBClient {
  return new DynamoDBClient({
    region,
    maxAttempts: 5,
    ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export function buildBroker(options: BrokerOptions): Broker {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const dynamodb = options.dynamodb ?? dynamoClientFor(config.aws.region, options.dynamodbEndpoint);
  const store = new DynamoStore({
    client: dynamodb,
    tableName: options.tableName,
    clock,
    simulated: config.aws.mode === 'simulated',
  });
  const requests = new RequestService({ config, store, clock, logger });
  const audit = new AuditService({ store, requests });
  const app = createApp({
    config,
    requests,
    audit,
    verifier: options.verifier ?? new JoseTokenVerifier(config.oidc),
    logger,
    version: VERSION,
    devMode: options.devMode ?? false,
    publicUrl: options.publicUrl.replace(/\/$/, ''),
    ...(options.readiness ? { readiness: options.readiness } : {}),
  });
  return { app, store, requests, audit, dynamodb };
}
