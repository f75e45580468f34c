/**
 * What every Lambda entry point shares: config from a bundled file or SSM Parameter Store, secrets from
 * Secrets Manager or SSM SecureString, JSON logs that carry the Lambda request id, and one broker per
 * execution environment, built on the first invocation and reused by the next ones.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Context } from 'aws-lambda';
import { createJsonLinesLogger } from '../adapters/logging/json-lines.js';
import { REDACTED_PATHS } from '../adapters/logging/redacted-paths.js';
import type { BrokerOptions, CoreBroker, SealerParts } from '../compose.js';
import type { Broker } from '../compose-http.js';
import type { BreakglassConfig } from '../config/schema.js';
import { ConfigError, parseConfig } from '../config/validate.js';
import { problemBody } from '../http/problem.js';
import type { Logger } from '../ports/logger.js';
import type { ValueSource } from './value-source.js';

export type LambdaEnv = Record<string, string | undefined>;

export type { ValueSource } from './value-source.js';

export interface LambdaRuntimeOptions {
  env?: LambdaEnv;
  /** Where `BREAKGLASS_CONFIG_PARAMETER` is read from; SSM Parameter Store when omitted. */
  parameters?: ValueSource;
  /** Where secrets are read from; chosen by `BREAKGLASS_SECRETS_SOURCE` when omitted. */
  secrets?: ValueSource;
  /** Receives log lines; stdout (where Lambda collects them) when omitted. */
  logDestination?: { write(line: string): unknown };
}

/** What a function's entry point builds: `buildBroker` (API), `buildCore` (transition, sweeper), `buildSealing` (shipper). */
export type BrokerBuilder<B extends SealerParts> = (options: BrokerOptions) => B;

export type LambdaBroker<B extends SealerParts = Broker> = B & {
  config: BreakglassConfig;
  logger: Logger;
  /** Waits for the after-commit work (schedules, revocations, notifications) started by this invocation. */
  settle(timeoutMs?: number): Promise<void>;
};

/** Environment variables that fill in deployment facts the config file cannot know before the stack exists. */
const AWS_OVERLAYS: Array<[env: string, path: string[]]> = [
  ['BREAKGLASS_ISSUER_ROLE_ARN', ['aws', 'issuerRoleArn']],
  ['BREAKGLASS_SCHEDULER_GROUP', ['aws', 'scheduler', 'group']],
  ['BREAKGLASS_SCHEDULER_TARGET_ARN', ['aws', 'scheduler', 'targetArn']],
  ['BREAKGLASS_SCHEDULER_ROLE_ARN', ['aws', 'scheduler', 'roleArn']],
  ['BREAKGLASS_SCHEDULER_DLQ_ARN', ['aws', 'scheduler', 'deadLetterArn']],
  ['BREAKGLASS_PUBLIC_URL', ['web', 'publicUrl']],
];

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The Lambda request id of the invocation in progress, so logs written deep in the services carry it too. */
const invocation = new AsyncLocalStorage<{ awsRequestId: string; functionName: string }>();

/**
 * Structured JSON logs on stdout with the same redaction as the server, plus the current Lambda request id: the
 * lines the server's pino logger writes, without pino (adapters/logging/json-lines.ts).
 */
export function createLambdaLogger(env: LambdaEnv, destination?: { write(line: string): unknown }): Logger {
  return createJsonLinesLogger({
    name: 'breakglass',
    level: env.LOG_LEVEL ?? 'info',
    redact: REDACTED_PATHS,
    censor: '[redacted]',
    mixin: () => invocation.getStore() ?? {},
    ...(destination ? { destination } : {}),
  });
}

/** Sets `path` in a plain object, creating the objects on the way. */
function setPath(target: Record<string, unknown>, path: string[], value: string): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * The config document in `text`: JSON, as the stack stores it in SSM (converted from breakglass.yaml at synth).
 * The functions carry no YAML parser (~110 KiB deployed with each); YAML text is refused with a message that
 * says so.
 */
function configDocument(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(source, [
      `(root): must be JSON (${(error as Error).message}); the Lambda functions read the config as JSON, which the stack writes from breakglass.yaml — convert a hand-written YAML config the same way`,
    ]);
  }
}

/** Parses config JSON, applies the deployment overlays from the environment and validates it. */
export async function parseLambdaConfig(
  text: string,
  env: LambdaEnv,
  source: string,
): Promise<BreakglassConfig> {
  const raw = configDocument(text, source);
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(source, ['(root): must be a mapping']);
  for (const [name, path] of AWS_OVERLAYS) {
    const value = env[name];
    if (value) setPath(raw as Record<string, unknown>, path, value);
  }
  const kmsKeyId = env.BREAKGLASS_DIGEST_KMS_KEY_ID;
  const bunker = (raw as { bunker?: Record<string, unknown> }).bunker;
  if (kmsKeyId && bunker && typeof bunker === 'object') {
    setPath(bunker, ['digest', 'kmsKeyId'], kmsKeyId);
  }
  const config = parseConfig(raw, source);
  requireDurableBunker(config, source);
  return config;
}

/**
 * A live deployment must ship its audit trail to S3 and sign digests with KMS: a file bunker or a local key file
 * would live in the function's /tmp and vanish with the instance, silently.
 */
function requireDurableBunker(config: BreakglassConfig, source: string): void {
  if (config.aws.mode !== 'live') return;
  const problems: string[] = [];
  if (config.bunker.kind !== 's3') {
    problems.push(
      'bunker.kind: must be s3 when aws.mode is live in Lambda (a file bunker would live in /tmp)',
    );
  }
  if (!config.bunker.digest.kmsKeyId) {
    problems.push(
      'bunker.digest.kmsKeyId: is required when aws.mode is live in Lambda (set it or BREAKGLASS_DIGEST_KMS_KEY_ID)',
    );
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
}

/** Every environment variable name the config refers to (`…Env` keys: Slack, webhooks, cookie key, …). */
export function referencedEnvNames(config: unknown): string[] {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith('Env') && typeof value === 'string' && ENV_NAME.test(value)) names.add(value);
      else visit(value);
    }
  };
  visit(config);
  return [...names].sort();
}

/** Reads the config text named by the environment: an SSM parameter wins over a bundled file. */
export async function readConfigText(
  env: LambdaEnv,
  parameters: () => Promise<ValueSource>,
): Promise<{ text: string; source: string }> {
  const parameterName = env.BREAKGLASS_CONFIG_PARAMETER;
  if (parameterName) {
    const found = await (await parameters()).read([parameterName]);
    const text = found.get(parameterName);
    if (text === undefined) {
      throw new ConfigError(`ssm:${parameterName}`, ['parameter not found (BREAKGLASS_CONFIG_PARAMETER)']);
    }
    return { text, source: `ssm:${parameterName}` };
  }
  const file = env.BREAKGLASS_CONFIG ?? 'breakglass.json';
  const path = isAbsolute(file) ? file : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), file);
  try {
    return { text: readFileSync(path, 'utf8'), source: path };
  } catch (error) {
    throw new ConfigError(path, [
      `cannot read file: ${(error as NodeJS.ErrnoException).code ?? String(error)} (set BREAKGLASS_CONFIG or BREAKGLASS_CONFIG_PARAMETER)`,
    ]);
  }
}

/**
 * SSM Parameter Store, decrypting SecureString parameters; the client is loaded only when it is used. The SDK
 * is imported through a module of ours: a dynamic import of the package itself keeps its whole namespace (every
 * command and shape of SSM, ~180 KiB) in the bundle, a static import keeps only what is named.
 */
export async function ssmSource(region?: string): Promise<ValueSource> {
  return (await import('./ssm-source.js')).ssmSource(region);
}

/** Secrets Manager string secrets; a secret that does not exist is left out. Loaded like `ssmSource`. */
export async function secretsManagerSource(region?: string): Promise<ValueSource> {
  return (await import('./secrets-source.js')).secretsManagerSource(region);
}

/**
 * Puts the secrets the config refers to into process.env. `BREAKGLASS_SECRETS_SOURCE` is
 * `secretsmanager:<name prefix>` or `ssm:<path prefix>`; the secret for `SLACK_BOT_TOKEN` is then
 * `<prefix>SLACK_BOT_TOKEN`. Variables already set win, so a plain environment keeps working.
 */
export async function loadSecrets(
  config: BreakglassConfig,
  env: LambdaEnv,
  logger: Logger,
  source?: ValueSource,
): Promise<string[]> {
  const spec = env.BREAKGLASS_SECRETS_SOURCE;
  if (!spec) return [];
  const match = /^(secretsmanager|ssm):(.*)$/.exec(spec);
  if (!match) {
    throw new ConfigError('BREAKGLASS_SECRETS_SOURCE', [
      'must be "secretsmanager:<prefix>" or "ssm:<path prefix>"',
    ]);
  }
  const [, kind, prefix = ''] = match;
  const wanted = referencedEnvNames(config).filter((name) => !process.env[name]);
  if (wanted.length === 0) return [];
  const store =
    source ??
    (kind === 'ssm' ? await ssmSource(config.aws.region) : await secretsManagerSource(config.aws.region));
  const found = await store.read(wanted.map((name) => `${prefix}${name}`));
  const loaded: string[] = [];
  for (const name of wanted) {
    const value = found.get(`${prefix}${name}`);
    if (value === undefined) continue;
    process.env[name] = value;
    loaded.push(name);
  }
  const missing = wanted.filter((name) => !loaded.includes(name));
  // Names only: the values never reach a log line.
  logger.info({ secretsLoaded: loaded, secretsMissing: missing, source: kind }, 'secrets loaded');
  return loaded;
}

/** Builds the broker once per execution environment; a failed build is retried on the next invocation. */
export class LambdaRuntime<B extends SealerParts = Broker> {
  readonly env: LambdaEnv;
  readonly logger: Logger;
  private broker: Promise<LambdaBroker<B>> | null = null;

  /** `build` decides what the function bundles: each entry point passes the smallest builder it can use. */
  constructor(
    private readonly build: BrokerBuilder<B>,
    private readonly options: LambdaRuntimeOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.logger = createLambdaLogger(this.env, options.logDestination);
  }

  /**
   * The cached broker, built on first use. `fallbackPublicUrl` (the HTTP function passes the host the first
   * request arrived on) is used only when neither the config nor BREAKGLASS_PUBLIC_URL names one.
   */
  get(fallbackPublicUrl?: string): Promise<LambdaBroker<B>> {
    this.broker ??= this.start(fallbackPublicUrl).catch((error: unknown) => {
      this.broker = null;
      throw error;
    });
    return this.broker;
  }

  /**
   * The broker for an HTTP request that arrived on `host` (its Function URL or API domain), or null when it
   * cannot start (a broken config, an unreachable parameter store): logged here, answered by the caller with
   * `notReadyBody` — like the app would, never with a stack.
   */
  async forRequest(host: string | undefined): Promise<LambdaBroker<B> | null> {
    try {
      return await this.get(host ? `https://${host}` : undefined);
    } catch (error) {
      this.logger.error({ err: error }, 'broker failed to start');
      return null;
    }
  }

  /** Runs one invocation with the Lambda request id bound to every log line written while it runs. */
  run<T>(
    context: Pick<Context, 'awsRequestId' | 'functionName'> | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    const store = {
      awsRequestId: context?.awsRequestId ?? 'local',
      functionName: context?.functionName ?? 'breakglass',
    };
    return invocation.run(store, work);
  }

  private async start(fallbackPublicUrl?: string): Promise<LambdaBroker<B>> {
    const started = Date.now();
    const env = this.env;
    const region = env.AWS_REGION;
    const { text, source } = await readConfigText(
      env,
      async () => this.options.parameters ?? ssmSource(region),
    );
    const config = await parseLambdaConfig(text, env, source);
    await loadSecrets(config, env, this.logger, this.options.secrets);
    const tableName = env.BREAKGLASS_TABLE;
    if (!tableName) throw new ConfigError('environment', ['BREAKGLASS_TABLE: is required']);
    const publicUrl = config.web.publicUrl ?? fallbackPublicUrl ?? 'https://breakglass.invalid';
    const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
    const broker = this.build({
      config,
      logger: this.logger,
      tableName,
      ...(endpoint ? { dynamodbEndpoint: endpoint } : {}),
      devMode: false,
      publicUrl,
      // The deployment package is read-only; only a file bunker or a local key (not for production) use this.
      dataDir: env.BREAKGLASS_DATA_DIR ?? '/tmp/breakglass',
    });
    const requests = (broker as Partial<CoreBroker>).requests;
    const settle = async (timeoutMs?: number) => (requests ? requests.settled(timeoutMs) : undefined);
    this.logger.info(
      { configSource: source, table: tableName, mode: config.aws.mode, initMs: Date.now() - started },
      'broker ready',
    );
    return { ...broker, config, logger: this.logger, settle };
  }
}

/** Time the handler may spend waiting for after-commit work, keeping a margin before the Lambda timeout. */
export function settleBudgetMs(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined): number {
  const remaining = context?.getRemainingTimeInMillis?.() ?? 20_000;
  return Math.max(0, Math.min(20_000, remaining - 1_500));
}

/** CloudWatch embedded-metric-format fields for one count, written as part of a JSON log line. */
export function metricFields(name: string, value: number, namespace = 'Breakglass'): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        { Namespace: namespace, Dimensions: [[]], Metrics: [{ Name: name, Unit: 'Count' }] },
      ],
    },
    [name]: value,
  };
}

/** The 503 problem+json body an HTTP handler answers with when `forRequest` found no broker. */
export function notReadyBody(requestId: string): string {
  return JSON.stringify(
    problemBody('not_ready', 'the broker is starting or misconfigured; try again shortly', requestId),
  );
}
