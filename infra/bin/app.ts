#!/usr/bin/env node
/**
 * `npm run synth`: writes the CloudFormation templates to cdk.out/ without AWS credentials (account ids come
 * from context or the environment, never from a lookup). Deploy them with `cdk deploy --app cdk.out …`.
 *
 *   BREAKGLASS_BROKER_ACCOUNT, BREAKGLASS_SECURITY_ACCOUNT, BREAKGLASS_WORKLOAD_ACCOUNT, BREAKGLASS_REGION,
 *   BREAKGLASS_CONFIG (breakglass.yaml to deploy), BREAKGLASS_EXTERNAL_ID, BREAKGLASS_ALARM_EMAIL,
 *   BREAKGLASS_SECRETS_SOURCE, BREAKGLASS_ORG_ID, BREAKGLASS_BUNKER_RETENTION_DAYS, BREAKGLASS_PUBLIC_URL
 *
 * It also renders the guardrail SCPs for the deployment's accounts to cdk.out/guardrails/: BREAKGLASS_WORKLOAD_ACCOUNTS
 * (comma-separated, default BREAKGLASS_WORKLOAD_ACCOUNT), BREAKGLASS_ALLOWED_REGIONS (default us-east-1,eu-west-1),
 * BREAKGLASS_CONTROL_TOWER_ACCOUNTS (accounts whose AWSControlTowerExecution may manage CloudTrail).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BrokerStack } from '../lib/broker-stack.js';
import { DataBunkerStack } from '../lib/data-bunker-stack.js';
import { type GuardrailOptions, guardrailPolicies, renderGuardrail } from '../lib/guardrails.js';
import { BreakglassRevokerRole, BreakglassTargetRole } from '../lib/target-role.js';

export interface BreakglassAppOptions {
  outdir?: string;
  env?: Record<string, string | undefined>;
  nag?: boolean;
}

/** Builds the three stacks: broker (shared services), data bunker (security), an example workload account. */
export function buildApp(options: BreakglassAppOptions = {}): App {
  const env = options.env ?? process.env;
  const app = new App({ ...(options.outdir ? { outdir: options.outdir } : {}) });
  const context = (name: string, envName: string, fallback: string) =>
    (app.node.tryGetContext(name) as string | undefined) ?? env[envName] ?? fallback;
  const region = context('region', 'BREAKGLASS_REGION', 'us-east-1');
  const brokerAccount = context('brokerAccount', 'BREAKGLASS_BROKER_ACCOUNT', '111111111111');
  const securityAccount = context('securityAccount', 'BREAKGLASS_SECURITY_ACCOUNT', '222222222222');
  const workloadAccount = context('workloadAccount', 'BREAKGLASS_WORKLOAD_ACCOUNT', '123456789012');
  const externalId = context('externalId', 'BREAKGLASS_EXTERNAL_ID', 'bg-example');
  const configPath = resolve(context('config', 'BREAKGLASS_CONFIG', 'breakglass.example.yaml'));
  const retentionDays = Number(context('bunkerRetentionDays', 'BREAKGLASS_BUNKER_RETENTION_DAYS', '400'));
  const alarmEmail = env.BREAKGLASS_ALARM_EMAIL;
  const secretsSource = env.BREAKGLASS_SECRETS_SOURCE;
  const organizationId = env.BREAKGLASS_ORG_ID;
  const publicUrl = env.BREAKGLASS_PUBLIC_URL;

  new DataBunkerStack(app, 'BreakglassDataBunker', {
    env: { account: securityAccount, region },
    brokerAccountId: brokerAccount,
    retentionDays,
    athena: true,
    description: 'Breakglass data bunker: write-once audit trail (security account)',
  });
  new BrokerStack(app, 'BreakglassBroker', {
    env: { account: brokerAccount, region },
    configText: readFileSync(configPath, 'utf8'),
    securityAccountId: securityAccount,
    ...(alarmEmail ? { alarmEmail } : {}),
    ...(secretsSource ? { secretsSource } : {}),
    ...(organizationId ? { organizationId } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    description: 'Breakglass broker (shared-services account)',
  });
  const workload = new Stack(app, 'BreakglassWorkloadExample', {
    env: { account: workloadAccount, region },
    description: 'Example break-glass target roles in a workload account',
  });
  new BreakglassRevokerRole(workload, 'Revoker', { brokerAccountId: brokerAccount, externalId });
  new BreakglassTargetRole(workload, 'ProdReadOnly', {
    roleName: 'breakglass-prod-readonly',
    brokerAccountId: brokerAccount,
    externalId,
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
  });
  new BreakglassTargetRole(workload, 'ProdAdmin', {
    roleName: 'breakglass-prod-admin',
    brokerAccountId: brokerAccount,
    externalId,
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}

/** The guardrail options for this deployment, from the same environment as the stacks. */
export function guardrailOptions(env: Record<string, string | undefined> = process.env): GuardrailOptions {
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const workload = list(env.BREAKGLASS_WORKLOAD_ACCOUNTS);
  return {
    brokerAccountId: env.BREAKGLASS_BROKER_ACCOUNT ?? '111111111111',
    workloadAccountIds: workload.length > 0 ? workload : [env.BREAKGLASS_WORKLOAD_ACCOUNT ?? '123456789012'],
    allowedRegions: list(env.BREAKGLASS_ALLOWED_REGIONS ?? 'us-east-1,eu-west-1'),
    controlTowerAccountIds: list(env.BREAKGLASS_CONTROL_TOWER_ACCOUNTS),
  };
}

if (process.argv[1] && import.meta.filename === resolve(process.argv[1])) {
  const assembly = buildApp({ outdir: resolve('cdk.out') }).synth();
  for (const stack of assembly.stacks) {
    process.stdout.write(`synthesized ${stack.stackName} → cdk.out/${stack.templateFile}\n`);
  }
  const guardrails = join(resolve('cdk.out'), 'guardrails');
  mkdirSync(guardrails, { recursive: true });
  for (const [name, policy] of Object.entries(guardrailPolicies(guardrailOptions()))) {
    writeFileSync(join(guardrails, `${name}.json`), renderGuardrail(policy));
    process.stdout.write(`rendered guardrail ${name} → cdk.out/guardrails/${name}.json\n`);
  }
}
