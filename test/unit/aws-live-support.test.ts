/**
 * The live-AWS suite's helpers, exercised without AWS: IAM answers come from aws-sdk-client-mock (simulated),
 * time from an injected clock. The roles the suite creates are rendered from the CDK constructs.
 */
import { GetRoleCommand, IAMClient, IAMServiceException, NoSuchEntityException } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { REQUEST_TAG_KEY, REQUESTER_TAG_KEY, TARGET_TAG_KEY } from '../../infra/lib/names.js';
import { targetTrustStatements } from '../../infra/lib/target-role.js';
import {
  Cleanup,
  eventually,
  GuaranteeReport,
  isAccessDenied,
  liveSkipReason,
  paddingPolicy,
  pollUntilDenied,
  renderRevokerRole,
  renderTargetRole,
  resolveCfn,
} from '../aws/support.js';

const accessDenied = () =>
  new IAMServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    $metadata: { httpStatusCode: 403 },
    message:
      'User is not authorized to perform: iam:GetRole with an explicit deny in an identity-based policy',
  });

/** A clock the helpers' sleeps move forward, so nothing here waits. */
function fakeTime() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe('live suite: skipping', () => {
  it('skips without the opt-in variable, before looking for credentials', async () => {
    let probed = false;
    const reason = await liveSkipReason({}, async () => {
      probed = true;
    });
    expect(reason).toBe('BREAKGLASS_TEST_AWS is not 1');
    expect(probed).toBe(false);
  });

  it('skips with the variable but no credentials; runs with both', async () => {
    const none = async () => {
      throw new Error('Could not load credentials from any providers');
    };
    expect(await liveSkipReason({ BREAKGLASS_TEST_AWS: '1' }, none)).toBe(
      'no AWS credentials in the default provider chain',
    );
    expect(await liveSkipReason({ BREAKGLASS_TEST_AWS: '1' }, async () => ({ accessKeyId: 'x' }))).toBeNull();
  });
});

describe('live suite: polling until a revocation has propagated', () => {
  it('counts calls and time until IAM denies GetRole', async () => {
    const client = new IAMClient({ region: 'us-east-1' });
    const iam = mockClient(client);
    iam
      .on(GetRoleCommand)
      .resolvesOnce({ Role: undefined })
      .resolvesOnce({ Role: undefined })
      .rejects(accessDenied());
    const time = fakeTime();
    const result = await pollUntilDenied(() => client.send(new GetRoleCommand({ RoleName: 'target' })), {
      timeoutMs: 60_000,
      intervalMs: 2_000,
      ...time,
    });
    expect(result).toEqual({ attempts: 3, deniedAfterMs: 4_000 });
    expect(iam.commandCalls(GetRoleCommand)).toHaveLength(3);
  });

  it('fails when still allowed at the timeout, and at once on an error that is not a deny', async () => {
    const client = new IAMClient({ region: 'us-east-1' });
    const iam = mockClient(client);
    iam.on(GetRoleCommand).resolves({});
    const probe = () => client.send(new GetRoleCommand({ RoleName: 'target' }));
    await expect(
      pollUntilDenied(probe, { timeoutMs: 10_000, intervalMs: 2_500, ...fakeTime() }),
    ).rejects.toThrow('still allowed after 5 calls in 10000 ms');
    iam.reset();
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ $metadata: {}, message: 'gone' }));
    await expect(
      pollUntilDenied(probe, { timeoutMs: 10_000, intervalMs: 1_000, ...fakeTime() }),
    ).rejects.toThrow('gone');
    expect(iam.commandCalls(GetRoleCommand)).toHaveLength(1);
  });

  it('recognises a deny however the service names it, and nothing else', () => {
    expect(isAccessDenied(accessDenied())).toBe(true);
    expect(isAccessDenied({ name: 'AccessDeniedException' })).toBe(true);
    expect(isAccessDenied({ name: 'Whatever', $metadata: { httpStatusCode: 403 } })).toBe(true);
    expect(isAccessDenied({ code: 'aws_access_denied' })).toBe(true);
    expect(isAccessDenied(new NoSuchEntityException({ $metadata: {}, message: 'x' }))).toBe(false);
    expect(isAccessDenied('AccessDenied')).toBe(false);
  });

  it('eventually retries what IAM has not propagated yet, up to its timeout', async () => {
    let calls = 0;
    const value = await eventually(
      async () => {
        calls += 1;
        if (calls < 4) throw accessDenied();
        return 'assumed';
      },
      isAccessDenied,
      { timeoutMs: 60_000, intervalMs: 3_000, ...fakeTime() },
    );
    expect(value).toBe('assumed');
    expect(calls).toBe(4);
    await expect(
      eventually(
        async () => {
          throw accessDenied();
        },
        isAccessDenied,
        { timeoutMs: 9_000, intervalMs: 3_000, ...fakeTime() },
      ),
    ).rejects.toThrow('not authorized');
  });
});

describe('live suite: padding a role’s inline budget', () => {
  it.each([600, 5_000, 9_690])('%i non-whitespace characters exactly, valid JSON', (size) => {
    const text = paddingPolicy(size, 'bg-live-padding');
    expect(text.replace(/\s/g, '').length).toBe(size);
    expect(JSON.parse(text).Statement[0]).toMatchObject({ Effect: 'Deny', Action: 's3:GetObject' });
  });
});

describe('live suite: cleanup and report', () => {
  it('undoes newest first and keeps going after a failure', async () => {
    const order: string[] = [];
    const cleanup = new Cleanup();
    cleanup.add('role', async () => order.push('role'));
    cleanup.add('policy', async () => {
      order.push('policy');
      throw new Error('DeleteConflict');
    });
    cleanup.add('bucket', async () => order.push('bucket'));
    const result = await cleanup.run();
    expect(order).toEqual(['bucket', 'policy', 'role']);
    expect(result).toEqual({
      done: ['bucket', 'role'],
      failed: [{ label: 'policy', error: 'DeleteConflict' }],
    });
    expect(cleanup.pending).toEqual([]);
  });

  it('prints one line per guarantee, also when its check fails', async () => {
    const printed: string[] = [];
    const report = new GuaranteeReport((line) => printed.push(line));
    await report.check('hard stop at the grant end', async () => 'denied 4 s after the end');
    await expect(
      report.check('revocation', async () => {
        throw new Error('still allowed after 60 calls');
      }),
    ).rejects.toThrow();
    expect(printed).toEqual([
      'PASS hard stop at the grant end — denied 4 s after the end',
      'FAIL revocation — still allowed after 60 calls',
    ]);
  });
});

// Synthesizing a CDK app takes seconds on a shared machine.
describe('live suite: roles rendered from the constructs', { timeout: 60_000 }, () => {
  const issuerArn = 'arn:aws:iam::123456789012:role/bg-live-issuer-abcd';

  it('the target role: the construct’s trust statements with the stand-in issuer, its boundary, tag and 1 h', () => {
    const rendered = renderTargetRole({
      roleName: 'bg-live-target-abcd',
      account: '123456789012',
      region: 'eu-west-1',
      externalId: 'bg-live-ext',
      issuerArn,
      inlinePolicies: {
        allowed: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' }],
        },
      },
    });
    expect(rendered.roleName).toBe('bg-live-target-abcd');
    expect(rendered.maxSessionDuration).toBe(3600);
    expect(rendered.tags).toContainEqual({ Key: TARGET_TAG_KEY, Value: 'true' });
    const statements = rendered.trustPolicy.Statement;
    expect(statements.map((statement) => statement.Action)).toEqual([
      'sts:AssumeRole',
      'sts:SetSourceIdentity',
      'sts:TagSession',
    ]);
    for (const [index, expected] of targetTrustStatements('bg-live-ext').entries()) {
      expect(statements[index]).toMatchObject({
        Sid: expected.sid,
        Effect: 'Allow',
        Principal: { AWS: issuerArn },
        Condition: expected.conditions,
      });
    }
    expect(JSON.stringify(rendered.trustPolicy)).not.toContain('breakglass-issuer');
    expect(statements[2]!.Condition).toMatchObject({
      'ForAllValues:StringEquals': { 'aws:TagKeys': [REQUEST_TAG_KEY, REQUESTER_TAG_KEY] },
    });
    // The boundary is what the role is designed to allow: its inline statements.
    expect(rendered.boundary.name).toBe('bg-live-target-abcd-boundary');
    expect(rendered.boundary.document.Statement).toEqual([
      { Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' },
    ]);
    expect(rendered.inlinePolicies.map((policy) => policy.name)).toEqual(['allowed']);
    expect(JSON.stringify(rendered)).not.toMatch(/Fn::|"Ref"/);
  });

  it('the revoker role: trusts the stand-in with the ExternalId; writes only tagged roles with a boundary', () => {
    const rendered = renderRevokerRole({
      account: '123456789012',
      region: 'eu-west-1',
      externalId: 'bg-live-ext',
      issuerArn,
    });
    expect(rendered.trustPolicy.Statement).toEqual([
      {
        Sid: 'BrokerAssumesWithExternalId',
        Effect: 'Allow',
        // Both broker roles (issuer, transitions) are trusted; the stand-in replaces both.
        Principal: { AWS: [issuerArn] },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': 'bg-live-ext' } },
      },
    ]);
    expect(rendered.tags).toContainEqual({ Key: TARGET_TAG_KEY, Value: 'revoker' });
    const write = rendered.policy.document.Statement.find((s) => s.Sid === 'RevokeBreakglassSessions');
    expect(write).toMatchObject({
      Action: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
      Resource: 'arn:aws:iam::123456789012:role/*',
      Condition: {
        StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: 'true' },
        Null: { 'iam:PermissionsBoundary': 'false' },
      },
    });
  });

  it('resolves only the intrinsics it knows', () => {
    expect(
      resolveCfn(
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::1:role/x']] },
        { 'AWS::Partition': 'aws' },
      ),
    ).toBe('arn:aws:iam::1:role/x');
    expect(() => resolveCfn({ 'Fn::GetAtt': ['Role', 'Arn'] }, {})).toThrow('cannot resolve Fn::GetAtt');
    expect(() => resolveCfn({ Ref: 'Boundary' }, {})).toThrow('cannot resolve Ref Boundary');
  });
});
