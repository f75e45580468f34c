/** The Lambda runtime's config and secret loading, on mocked SSM / Secrets Manager clients (no network). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildBroker } from '../../api/compose-http.js';
import { ConfigError, exampleConfigPath, parseConfigText } from '../../api/config/load.js';
import {
  LambdaRuntime,
  loadSecrets,
  parseLambdaConfig,
  referencedEnvNames,
  settleBudgetMs,
} from '../../api/lambda/runtime.js';
import { silentLogger } from '../../api/ports/logger.js';

const exampleText = readFileSync(exampleConfigPath, 'utf8');
/** The config as the stack stores it: JSON converted from the YAML. */
const asJson = (yaml: string) => JSON.stringify(parseYaml(yaml));
const exampleJson = asJson(exampleText);
const withWebhook = `${exampleText.replace(
  'notifications:\n',
  'notifications:\n  webhooks:\n    - url: https://hooks.example.com/x\n      secretEnv: BG_UNIT_HOOK_SECRET\n',
)}`;
const ssm = mockClient(SSMClient);
const secrets = mockClient(SecretsManagerClient);

afterEach(() => {
  ssm.reset();
  secrets.reset();
  delete process.env.BG_UNIT_HOOK_SECRET;
  delete process.env.SLACK_BOT_TOKEN;
});

describe('parseLambdaConfig', () => {
  it('fills in the deployment facts from the environment and validates the result', async () => {
    const config = await parseLambdaConfig(
      exampleJson,
      {
        BREAKGLASS_SCHEDULER_TARGET_ARN:
          'arn:aws:lambda:us-east-1:111111111111:function:breakglass-transitions',
        BREAKGLASS_SCHEDULER_ROLE_ARN: 'arn:aws:iam::111111111111:role/breakglass-scheduler',
        BREAKGLASS_ISSUER_ROLE_ARN: 'arn:aws:iam::111111111111:role/breakglass-issuer',
        BREAKGLASS_PUBLIC_URL: 'https://breakglass.example.com',
      },
      'test',
    );
    expect(config.aws.scheduler).toMatchObject({
      group: 'breakglass',
      targetArn: 'arn:aws:lambda:us-east-1:111111111111:function:breakglass-transitions',
      roleArn: 'arn:aws:iam::111111111111:role/breakglass-scheduler',
    });
    expect(config.aws.issuerRoleArn).toBe('arn:aws:iam::111111111111:role/breakglass-issuer');
    expect(config.web.publicUrl).toBe('https://breakglass.example.com');
    expect(config.roles.map((role) => role.id)).toEqual(['prod-admin', 'prod-readonly']);
  });

  it('fails closed, listing the problem by path, when an overlay is not valid', async () => {
    try {
      await parseLambdaConfig(
        exampleJson,
        { BREAKGLASS_SCHEDULER_ROLE_ARN: 'not-an-arn' },
        'ssm:/breakglass/config',
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^aws\.scheduler\.roleArn: /)]);
    }
  });

  it('reads the JSON infra stores exactly as the YAML it came from', async () => {
    const fromJson = await parseLambdaConfig(exampleJson, {}, 'ssm:/breakglass/config');
    expect(fromJson).toEqual(parseConfigText(exampleText, 'file'));
    await expect(parseLambdaConfig('{"version": 1}', {}, 'x')).rejects.toThrow(ConfigError);
  });

  it('refuses YAML (the functions carry no YAML parser) with a problem that says JSON is wanted', async () => {
    for (const text of [exampleText, 'version: [1', '{ version: 1 }']) {
      try {
        await parseLambdaConfig(text, {}, 'ssm:/breakglass/config');
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^\(root\): must be JSON/)]);
      }
    }
  });

  it("refuses a live deployment whose audit trail would stay in the instance's /tmp", async () => {
    const live = exampleText.replace('mode: simulated', 'mode: live');
    expect(live).not.toBe(exampleText);
    try {
      await parseLambdaConfig(asJson(live), {}, 'ssm:/breakglass/config');
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^bunker\.kind: must be s3/),
        expect.stringMatching(/^bunker\.digest\.kmsKeyId: is required/),
      ]);
    }
    const durable = live.replace(
      'bunker:\n  kind: file',
      'bunker:\n  kind: s3\n  bucket: org-security-audit\n  expectedBucketOwner: "111122223333"',
    );
    expect(durable).not.toBe(live);
    const config = await parseLambdaConfig(
      asJson(durable),
      { BREAKGLASS_DIGEST_KMS_KEY_ID: 'arn:aws:kms:us-east-1:111111111111:key/abc' },
      'ssm:/breakglass/config',
    );
    expect(config.bunker).toMatchObject({
      kind: 's3',
      digest: { kmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/abc' },
    });
  });
});

describe('referencedEnvNames', () => {
  it('finds every *Env the config names, nested or in lists', () => {
    const config = parseConfigText(withWebhook, 'test');
    expect(referencedEnvNames(config)).toEqual([
      'BG_UNIT_HOOK_SECRET',
      'BREAKGLASS_COOKIE_SECRET',
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
    ]);
  });
});

describe('loadSecrets', () => {
  const config = parseConfigText(withWebhook, 'test');

  it('reads the secrets the config names from Secrets Manager into the environment, logging names only', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
    secrets.on(GetSecretValueCommand, { SecretId: 'breakglass/BG_UNIT_HOOK_SECRET' }).resolves({
      SecretString: 'hook-secret-value',
    });
    secrets.on(GetSecretValueCommand, { SecretId: 'breakglass/SLACK_BOT_TOKEN' }).resolves({
      SecretString: 'xoxb-secret-token',
    });
    const lines: string[] = [];
    const logger = {
      ...silentLogger,
      info: (object: object) => void lines.push(JSON.stringify(object)),
    };
    const loaded = await loadSecrets(
      config,
      { BREAKGLASS_SECRETS_SOURCE: 'secretsmanager:breakglass/' },
      logger,
    );
    expect(loaded).toEqual(['BG_UNIT_HOOK_SECRET', 'SLACK_BOT_TOKEN']);
    expect(process.env.BG_UNIT_HOOK_SECRET).toBe('hook-secret-value');
    expect(process.env.SLACK_BOT_TOKEN).toBe('xoxb-secret-token');
    expect(lines.join('\n')).toContain('SLACK_BOT_TOKEN');
    expect(lines.join('\n')).not.toContain('xoxb-secret-token');
    expect(lines.join('\n')).not.toContain('hook-secret-value');
  });

  it('reads SSM SecureString parameters with decryption, ten names per call', async () => {
    ssm.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({
      Parameters: input.Names.filter((name) => name.endsWith('SLACK_SIGNING_SECRET')).map((name) => ({
        Name: name,
        Value: 'signing-secret',
        Type: 'SecureString',
      })),
      InvalidParameters: input.Names.filter((name) => !name.endsWith('SLACK_SIGNING_SECRET')),
    }));
    const loaded = await loadSecrets(
      config,
      { BREAKGLASS_SECRETS_SOURCE: 'ssm:/breakglass/secrets/' },
      silentLogger,
    );
    expect(loaded).toEqual(['SLACK_SIGNING_SECRET']);
    const call = ssm.commandCalls(GetParametersCommand)[0]!.args[0].input;
    expect(call.WithDecryption).toBe(true);
    expect(call.Names).toContain('/breakglass/secrets/SLACK_SIGNING_SECRET');
    delete process.env.SLACK_SIGNING_SECRET;
  });

  it('keeps a variable that is already set and refuses an unknown source kind', async () => {
    process.env.SLACK_BOT_TOKEN = 'from-env';
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'from-secrets-manager' });
    await loadSecrets(config, { BREAKGLASS_SECRETS_SOURCE: 'secretsmanager:bg/' }, silentLogger);
    expect(process.env.SLACK_BOT_TOKEN).toBe('from-env');
    expect(
      secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
    ).not.toContain('bg/SLACK_BOT_TOKEN');
    await expect(
      loadSecrets(config, { BREAKGLASS_SECRETS_SOURCE: 'vault:x' }, silentLogger),
    ).rejects.toBeInstanceOf(ConfigError);
    for (const name of ['BG_UNIT_HOOK_SECRET', 'BREAKGLASS_COOKIE_SECRET', 'SLACK_SIGNING_SECRET']) {
      delete process.env[name];
    }
  });
});

describe('LambdaRuntime', () => {
  it('loads the config from SSM Parameter Store and builds the broker once per execution environment', async () => {
    ssm.on(GetParametersCommand, { Names: ['/breakglass/config'] }).resolves({
      Parameters: [{ Name: '/breakglass/config', Value: exampleJson, Type: 'String' }],
    });
    const runtime = new LambdaRuntime(buildBroker, {
      env: {
        BREAKGLASS_CONFIG_PARAMETER: '/breakglass/config',
        BREAKGLASS_TABLE: 'breakglass',
        AWS_REGION: 'us-east-1',
        BREAKGLASS_DATA_DIR: '/tmp/breakglass-unit',
      },
      logDestination: { write: () => undefined },
    });
    const first = await runtime.get();
    const second = await runtime.get();
    expect(second).toBe(first);
    expect(first.config.roles).toHaveLength(2);
    expect(ssm.commandCalls(GetParametersCommand)).toHaveLength(1);
  });

  it('retries the build on the next invocation after a failure', async () => {
    ssm
      .on(GetParametersCommand)
      .resolvesOnce({ Parameters: [] })
      .resolves({
        Parameters: [{ Name: '/bg', Value: exampleJson }],
      });
    const runtime = new LambdaRuntime(buildBroker, {
      env: {
        BREAKGLASS_CONFIG_PARAMETER: '/bg',
        BREAKGLASS_TABLE: 't',
        BREAKGLASS_DATA_DIR: '/tmp/breakglass-unit',
      },
      logDestination: { write: () => undefined },
    });
    await expect(runtime.get()).rejects.toBeInstanceOf(ConfigError);
    await expect(runtime.get()).resolves.toMatchObject({ config: expect.any(Object) });
  });

  it('requires the table name', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bg-unit-')), 'breakglass.json');
    writeFileSync(file, exampleJson);
    const runtime = new LambdaRuntime(buildBroker, {
      env: { BREAKGLASS_CONFIG: file },
      logDestination: { write: () => undefined },
    });
    await expect(runtime.get()).rejects.toMatchObject({ problems: ['BREAKGLASS_TABLE: is required'] });
  });

  it('leaves a margin before the Lambda timeout when waiting for after-commit work', () => {
    expect(settleBudgetMs({ getRemainingTimeInMillis: () => 5_000 })).toBe(3_500);
    expect(settleBudgetMs({ getRemainingTimeInMillis: () => 900_000 })).toBe(20_000);
    expect(settleBudgetMs({ getRemainingTimeInMillis: () => 1_000 })).toBe(0);
  });
});
