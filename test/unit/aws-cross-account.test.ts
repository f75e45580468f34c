import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { assumedRoleCredentials, crossAccountIam } from '../../api/adapters/aws/cross-account.js';
import { liveAws } from '../../api/adapters/aws/index.js';
import { configWith } from './support.js';

const REVOKER = 'arn:aws:iam::444455556666:role/breakglass-revoker';

describe('the revoker role in a target account', () => {
  it('is assumed once and reused until five minutes before its credentials expire', async () => {
    const sts = new STSClient({ region: 'us-east-1' });
    const mock = mockClient(sts);
    let now = Date.parse('2026-11-22T10:00:00Z');
    let issued = 0;
    mock.on(AssumeRoleCommand).callsFake(() => {
      issued += 1;
      return {
        Credentials: {
          AccessKeyId: `ASIAREVOKER${issued}`,
          SecretAccessKey: 'secret',
          SessionToken: 'token',
          Expiration: new Date(now + 15 * 60_000),
        },
      };
    });
    const credentials = assumedRoleCredentials(sts, REVOKER, { externalId: 'bg-prod', now: () => now });
    const [first, again] = await Promise.all([credentials(), credentials()]);
    expect(first.accessKeyId).toBe('ASIAREVOKER1');
    expect(again.accessKeyId).toBe('ASIAREVOKER1');
    expect(mock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(mock.commandCalls(AssumeRoleCommand)[0]!.args[0].input).toEqual({
      RoleArn: REVOKER,
      RoleSessionName: 'breakglass-revoker',
      DurationSeconds: 900,
      ExternalId: 'bg-prod',
    });
    now += 9 * 60_000;
    expect((await credentials()).accessKeyId).toBe('ASIAREVOKER1');
    now += 2 * 60_000; // inside the five-minute margin
    expect((await credentials()).accessKeyId).toBe('ASIAREVOKER2');
  });

  it('a refusal to assume it is an AWS error with a stable code, not a crash', async () => {
    const sts = new STSClient({ region: 'us-east-1' });
    mockClient(sts)
      .on(AssumeRoleCommand)
      .rejects(
        Object.assign(new Error('not authorized'), {
          name: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        }),
      );
    await expect(assumedRoleCredentials(sts, REVOKER)()).rejects.toMatchObject({ code: 'aws_access_denied' });
  });

  it('gives one adapter per account and partition', () => {
    const forAccount = crossAccountIam({
      sts: new STSClient({ region: 'us-east-1' }),
      region: 'us-east-1',
      revokerRoleName: 'breakglass-revoker',
    });
    expect(forAccount('444455556666', 'aws')).toBe(forAccount('444455556666', 'aws'));
    expect(forAccount('444455556666', 'aws')).not.toBe(forAccount('777788889999', 'aws'));
    expect(forAccount('444455556666', 'aws')).not.toBe(forAccount('444455556666', 'aws-cn'));
  });

  it('is used only when aws.revokerRoleName is configured', () => {
    const live = (revokerRoleName?: string) =>
      configWith((raw) => {
        raw.aws = { mode: 'live', region: 'us-east-1', ...(revokerRoleName ? { revokerRoleName } : {}) };
      });
    expect(liveAws(live()).iamForAccount).toBeUndefined();
    expect(typeof liveAws(live('breakglass-revoker')).iamForAccount).toBe('function');
  });
});
