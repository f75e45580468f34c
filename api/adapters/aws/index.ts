import type { IAMClient } from '@aws-sdk/client-iam';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { STSClient } from '@aws-sdk/client-sts';
import type { BreakglassConfig } from '../../config/schema.js';
import type { AwsAdapters, RolePolicies } from '../../ports/aws.js';
import type { Clock } from '../../ports/clock.js';
import { HttpsConsoleFederation } from './federation.js';
import { LazyRolePolicies } from './lazy-iam.js';
import { LazyCredentialIssuer } from './lazy-sts.js';
import { EventBridgeTransitionScheduler } from './scheduler.js';
import { simulatedAws } from './simulated.js';

export interface AwsClients {
  sts?: STSClient;
  iam?: IAMClient;
  scheduler?: SchedulerClient;
  fetch?: typeof fetch;
}

/**
 * Live adapters on SDK v3 clients: region from config, credentials from the default provider chain (in a Lambda
 * bundle, the environment alone: infra/bundle-lambdas.mjs), and
 * `AWS_ENDPOINT_URL*` honoured by the SDK itself (so LocalStack works). Tests pass mocked clients.
 */
export function liveAws(config: BreakglassConfig, clients: AwsClients = {}): AwsAdapters {
  const region = config.aws.region;
  // STS and IAM load with their first use (credentials, a revocation), not at every cold start.
  const stsModule = () => import('./sts-live.js');
  let stsClient: Promise<STSClient> | null = null;
  const sts = () => {
    stsClient ??= clients.sts
      ? Promise.resolve(clients.sts)
      : stsModule().then(
          (module) => module.stsClientFor(region),
          (error: unknown) => {
            stsClient = null;
            throw error;
          },
        );
    return stsClient;
  };
  const revokerRoleName = config.aws.revokerRoleName;
  const iamModule = () => import('./iam-live.js');
  let forAccount: Promise<(accountId: string, partition: string) => RolePolicies> | null = null;
  const crossAccount = (name: string) => {
    forAccount ??= iamModule().then(async (module) =>
      module.crossAccountIam({
        sts: await sts(),
        region,
        revokerRoleName: name,
        ...(config.aws.externalId ? { externalId: config.aws.externalId } : {}),
      }),
    );
    return forAccount;
  };
  return {
    mode: 'live',
    sts: new LazyCredentialIssuer(async () => (await stsModule()).stsIssuer(await sts())),
    ...(revokerRoleName
      ? {
          iamForAccount: (accountId: string, partition: string) =>
            new LazyRolePolicies(async () => (await crossAccount(revokerRoleName))(accountId, partition)),
        }
      : {}),
    iam: new LazyRolePolicies(async () => (await iamModule()).ownAccountIam(region, clients.iam)),
    scheduler: new EventBridgeTransitionScheduler(clients.scheduler ?? new SchedulerClient({ region })),
    federation: new HttpsConsoleFederation(clients.fetch ?? globalThis.fetch),
  };
}

/** The adapters for `aws.mode`. */
export function awsAdaptersFor(config: BreakglassConfig, clock: Clock, clients?: AwsClients): AwsAdapters {
  return config.aws.mode === 'live' ? liveAws(config, clients) : simulatedAws(clock);
}

export type * from '../../ports/aws.js';
