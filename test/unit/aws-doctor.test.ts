import { GetRoleCommand, IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { IamRolePolicies } from '../../api/adapters/aws/iam.js';
import { SimulatedRolePolicies } from '../../api/adapters/aws/simulated.js';
import { DomainError } from '../../api/domain/errors.js';
import type { RolePolicies } from '../../api/ports/aws.js';
import { formatDoctorReport, runDoctor } from '../../api/services/doctor.js';
import { configWith } from './support.js';

const ISSUER = 'arn:aws:iam::111122223333:role/breakglass-issuer';
const live = configWith((raw) => {
  raw.aws = { mode: 'live', region: 'us-east-1', externalId: 'bg-prod', issuerRoleArn: ISSUER };
});

const trust = (statement: Record<string, unknown>) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] });

const GOOD = {
  Principal: { AWS: ISSUER },
  Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
  Condition: { StringEquals: { 'sts:ExternalId': 'bg-prod' }, Null: { 'sts:SourceIdentity': 'false' } },
};

function iamWith(roles: Record<string, { trust: string; max?: number; tagged?: boolean } | null>) {
  const client = new IAMClient({ region: 'us-east-1' });
  const mock = mockClient(client);
  for (const [name, role] of Object.entries(roles)) {
    if (!role) {
      mock
        .on(GetRoleCommand, { RoleName: name })
        .rejects(new NoSuchEntityException({ $metadata: {}, message: 'no' }));
      continue;
    }
    mock.on(GetRoleCommand, { RoleName: name }).resolves({
      Role: {
        RoleName: name,
        Path: '/',
        RoleId: 'AROA',
        CreateDate: new Date(),
        Arn: `arn:aws:iam::123456789012:role/${name}`,
        AssumeRolePolicyDocument: encodeURIComponent(role.trust),
        MaxSessionDuration: role.max ?? 3600,
        Tags: role.tagged === false ? [] : [{ Key: 'breakglass:target', Value: 'true' }],
      },
    });
  }
  return new IamRolePolicies(client);
}

describe('doctor', () => {
  it('reads each role in its own account through the revoker role when one is configured', async () => {
    const withRevoker = configWith((raw) => {
      raw.aws = {
        mode: 'live',
        region: 'us-east-1',
        externalId: 'bg-prod',
        issuerRoleArn: ISSUER,
        revokerRoleName: 'breakglass-revoker',
      };
      raw.roles[1].accountId = '444455556666';
      raw.roles[1].roleArn = 'arn:aws:iam::444455556666:role/breakglass-prod-readonly';
    });
    const home = iamWith({ 'breakglass-prod-admin': { trust: trust(GOOD) } });
    const asked: string[] = [];
    const unreachable = {
      getRole: async () => {
        throw new DomainError('aws_access_denied', 'AWS refused sts:AssumeRole (revoker)');
      },
    } as unknown as RolePolicies;
    const report = await runDoctor(withRevoker, iamWith({}), (accountId, partition) => {
      asked.push(`${partition}:${accountId}`);
      return accountId === '123456789012' ? home : unreachable;
    });
    expect(asked).toEqual(['aws:123456789012', 'aws:444455556666']);
    expect(report.roles.map((role) => role.status)).toEqual(['ok', 'error']);
    expect(report.roles[1]!.problems[0]).toMatchObject({
      check: 'aws',
      fix: expect.stringContaining('breakglass-revoker exists in account 444455556666'),
    });
    expect(report.ok).toBe(false);
  });

  it('passes a role whose trust policy matches the broker exactly', async () => {
    const report = await runDoctor(
      live,
      iamWith({
        'breakglass-prod-admin': { trust: trust(GOOD) },
        'breakglass-prod-readonly': { trust: trust(GOOD) },
      }),
    );
    expect(report.ok).toBe(true);
    expect(report.roles.map((role) => role.status)).toEqual(['ok', 'ok']);
    expect(formatDoctorReport(report).split('\n')).toEqual([
      'OK   prod-admin (arn:aws:iam::123456789012:role/breakglass-prod-admin): MaxSessionDuration 3600s',
      'OK   prod-readonly (arn:aws:iam::123456789012:role/breakglass-prod-readonly): MaxSessionDuration 3600s',
    ]);
  });

  it('names each problem with its fix and fails when a role is unusable', async () => {
    const report = await runDoctor(
      live,
      iamWith({
        'breakglass-prod-admin': {
          trust: trust({
            ...GOOD,
            Action: ['sts:AssumeRole'],
            Condition: { StringEquals: { 'sts:ExternalId': 'other' } },
          }),
          tagged: false,
        },
        'breakglass-prod-readonly': null,
      }),
    );
    expect(report.ok).toBe(false);
    const [admin, readonly] = report.roles;
    expect(admin!.status).toBe('error');
    expect(admin!.problems.map((problem) => problem.check)).toEqual(['actions', 'external_id', 'tag']);
    expect(admin!.problems[0]!.message).toBe(
      'the trust policy does not allow sts:SetSourceIdentity, sts:TagSession',
    );
    expect(admin!.problems[0]!.fix).toContain('"sts:TagSession"');
    expect(readonly!.problems.map((problem) => problem.check)).toEqual(['role']);
    const lines = formatDoctorReport(report).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^FAIL prod-admin .*fix: /);
    expect(lines[1]).toMatch(/^FAIL prod-readonly .*does not exist/);
  });

  it('names a failed iam:GetRole once, with the AWS reason', async () => {
    const client = new IAMClient({ region: 'us-east-1' });
    mockClient(client)
      .on(GetRoleCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: {} }));
    const report = await runDoctor(live, new IamRolePolicies(client));
    const message = report.roles[0]!.problems[0]!.message;
    expect(message).toMatch(/^iam:GetRole failed: AWS refused the broker \(AccessDeniedException\)/);
    expect(message.match(/iam:GetRole failed/g)).toHaveLength(1);
    expect(formatDoctorReport(report)).not.toContain('failed: iam:GetRole failed');
  });

  it('flags a trust policy for another principal and one that trusts the whole account', async () => {
    const report = await runDoctor(
      live,
      iamWith({
        'breakglass-prod-admin': {
          trust: trust({ ...GOOD, Principal: { AWS: 'arn:aws:iam::999999999999:role/x' } }),
        },
        'breakglass-prod-readonly': {
          trust: trust({ ...GOOD, Principal: { AWS: 'arn:aws:iam::111122223333:root' } }),
        },
      }),
    );
    expect(report.roles[0]!.problems[0]).toMatchObject({ check: 'principal', severity: 'error' });
    expect(report.roles[1]!.status).toBe('warning');
    expect(report.ok).toBe(false);
  });

  it('accepts wildcard actions and reports a short MaxSessionDuration', async () => {
    const report = await runDoctor(
      live,
      iamWith({
        'breakglass-prod-admin': { trust: trust({ ...GOOD, Action: 'sts:*' }) },
        'breakglass-prod-readonly': { trust: trust(GOOD), max: 900 },
      }),
    );
    expect(report.roles[0]!.status).toBe('ok');
    expect(report.roles[1]!.problems.map((problem) => problem.check)).toEqual(['session_duration']);
  });

  it('makes no AWS call in simulated mode', async () => {
    const iam = new SimulatedRolePolicies();
    const report = await runDoctor(configWith(), iam);
    expect(report).toMatchObject({ ok: true, mode: 'simulated' });
    expect(report.roles.every((role) => role.status === 'skipped')).toBe(true);
    expect(iam.calls).toEqual([]);
    expect(formatDoctorReport(report)).toContain('SKIP prod-admin');
  });
});
