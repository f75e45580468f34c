import {
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  consoleDestination,
  federationEndpoint,
  HttpsConsoleFederation,
} from '../../api/adapters/aws/federation.js';
import { IamRolePolicies } from '../../api/adapters/aws/iam.js';
import { EventBridgeTransitionScheduler } from '../../api/adapters/aws/scheduler.js';
import { SimulatedCredentialIssuer, SimulatedRolePolicies } from '../../api/adapters/aws/simulated.js';
import { DomainError, ERROR_STATUS } from '../../api/domain/errors.js';
import { partitionOf, roleNameOf, translateAwsError } from '../../api/ports/aws-errors.js';
import { FrozenClock } from './aws-support.js';

const awsError = (name: string) =>
  Object.assign(new Error(name), { name, $metadata: { requestId: 'aws-req-1' } });

describe('AWS error translation', () => {
  it.each([
    ['AccessDenied', 'aws_access_denied'],
    ['AccessDeniedException', 'aws_access_denied'],
    ['MalformedPolicyDocumentException', 'aws_policy_rejected'],
    ['PackedPolicyTooLargeException', 'aws_policy_too_large'],
    ['LimitExceededException', 'aws_policy_too_large'],
    ['RegionDisabledException', 'aws_region_disabled'],
    ['Throttling', 'aws_throttled'],
    ['ThrottlingException', 'aws_throttled'],
    ['ConflictException', 'aws_conflict'],
    ['NoSuchEntityException', 'aws_role_not_found'],
    ['ExpiredToken', 'aws_error'],
    ['SomethingNew', 'aws_error'],
  ])('%s → %s, a 5xx that names the AWS error but not its message', (name, code) => {
    const error = translateAwsError(awsError(name), 'sts:AssumeRole');
    expect(error.code).toBe(code);
    expect(ERROR_STATUS[error.code]).toBeGreaterThanOrEqual(500);
    expect(error.extra).toEqual({ awsError: name, operation: 'sts:AssumeRole', awsRequestId: 'aws-req-1' });
    expect(error.message).toContain(name);
  });

  it('parses role names and partitions from ARNs', () => {
    expect(roleNameOf('arn:aws:iam::123456789012:role/breakglass-admin')).toBe('breakglass-admin');
    expect(roleNameOf('arn:aws:iam::123456789012:role/team/ops/breakglass-admin')).toBe('breakglass-admin');
    expect(partitionOf('arn:aws-cn:iam::123456789012:role/x')).toBe('aws-cn');
    expect(partitionOf('arn:aws-us-gov:iam::123456789012:role/x')).toBe('aws-us-gov');
    expect(partitionOf('arn:aws:iam::123456789012:role/x')).toBe('aws');
  });
});

describe('IAM adapter', () => {
  const setup = () => {
    const client = new IAMClient({ region: 'us-east-1' });
    return { mock: mockClient(client), iam: new IamRolePolicies(client) };
  };

  it('decodes URL-encoded policy documents and treats a missing policy as null', async () => {
    const { mock, iam } = setup();
    const document = '{"Version":"2012-10-17","Statement":[]}';
    mock.on(GetRolePolicyCommand, { PolicyName: 'breakglass-revocations' }).resolves({
      RoleName: 'r',
      PolicyName: 'breakglass-revocations',
      PolicyDocument: encodeURIComponent(document),
    });
    mock
      .on(GetRolePolicyCommand, { PolicyName: 'other' })
      .rejects(new NoSuchEntityException({ $metadata: {}, message: 'none' }));
    expect(await iam.getRolePolicy('r', 'breakglass-revocations')).toBe(document);
    expect(await iam.getRolePolicy('r', 'other')).toBeNull();
  });

  it('sends PutRolePolicy exactly; a missing policy on delete is fine; other errors are translated', async () => {
    const { mock, iam } = setup();
    mock.on(PutRolePolicyCommand).resolves({});
    mock.on(DeleteRolePolicyCommand).rejects(new NoSuchEntityException({ $metadata: {}, message: 'gone' }));
    await iam.putRolePolicy('r', 'breakglass-revocations', '{"a":1}');
    expect(mock.commandCalls(PutRolePolicyCommand)[0]!.args[0].input).toEqual({
      RoleName: 'r',
      PolicyName: 'breakglass-revocations',
      PolicyDocument: '{"a":1}',
    });
    await expect(iam.deleteRolePolicy('r', 'breakglass-revocations')).resolves.toBeUndefined();
    mock.on(PutRolePolicyCommand).rejects(awsError('MalformedPolicyDocumentException'));
    await expect(iam.putRolePolicy('r', 'p', '{}')).rejects.toMatchObject({
      code: 'aws_policy_rejected',
      extra: { operation: 'iam:PutRolePolicy' },
    });
  });

  it('reads a role with its decoded trust policy and tags, and pages through inline policy names', async () => {
    const { mock, iam } = setup();
    mock.on(GetRoleCommand).resolves({
      Role: {
        RoleName: 'r',
        Path: '/',
        RoleId: 'AROA',
        CreateDate: new Date(),
        Arn: 'arn:aws:iam::123456789012:role/r',
        AssumeRolePolicyDocument: encodeURIComponent('{"Statement":[]}'),
        MaxSessionDuration: 7200,
        Tags: [{ Key: 'breakglass:target', Value: 'true' }],
      },
    });
    mock
      .on(ListRolePoliciesCommand)
      .resolvesOnce({ PolicyNames: ['a'], IsTruncated: true, Marker: 'm' })
      .resolvesOnce({ PolicyNames: ['b'], IsTruncated: false });
    expect(await iam.getRole('r')).toEqual({
      arn: 'arn:aws:iam::123456789012:role/r',
      trustPolicy: '{"Statement":[]}',
      maxSessionDuration: 7200,
      tags: { 'breakglass:target': 'true' },
    });
    expect(await iam.listRolePolicies('r')).toEqual(['a', 'b']);
    expect(mock.commandCalls(ListRolePoliciesCommand)[1]!.args[0].input).toEqual({
      RoleName: 'r',
      Marker: 'm',
    });
  });
});

describe('Scheduler adapter', () => {
  it('an existing schedule of the same name is "exists"; deleting a fired one is "absent"', async () => {
    const client = new SchedulerClient({ region: 'us-east-1' });
    const mock = mockClient(client);
    const scheduler = new EventBridgeTransitionScheduler(client);
    mock
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ $metadata: {}, message: 'exists', Message: 'exists' }));
    mock
      .on(DeleteScheduleCommand)
      .rejects(new ResourceNotFoundException({ $metadata: {}, message: 'none', Message: 'none' }));
    const spec = {
      name: 'bg-req_X-exp-202611221100',
      group: 'breakglass',
      expression: 'at(2026-11-22T11:00:00)',
      targetArn: 'arn:aws:lambda:us-east-1:1:function:t',
      roleArn: 'arn:aws:iam::1:role/s',
      input: '{}',
      description: 'd',
    };
    expect(await scheduler.createSchedule(spec)).toBe('exists');
    expect(mock.commandCalls(CreateScheduleCommand)[0]!.args[0].input).not.toHaveProperty(
      'Target.DeadLetterConfig',
    );
    expect(await scheduler.deleteSchedule(spec.name, 'breakglass')).toBe('absent');
    mock.on(DeleteScheduleCommand).rejects(awsError('AccessDeniedException'));
    await expect(scheduler.deleteSchedule(spec.name, 'breakglass')).rejects.toMatchObject({
      code: 'aws_access_denied',
    });
  });
});

describe('console federation', () => {
  const session = { accessKeyId: 'ASIAX', secretAccessKey: 'SECRET', sessionToken: 'TOKEN' };

  it.each([
    ['arn:aws:iam::1:role/r', 'https://signin.aws.amazon.com/federation', 'console.aws.amazon.com'],
    ['arn:aws-cn:iam::1:role/r', 'https://signin.amazonaws.cn/federation', 'console.amazonaws.cn'],
    [
      'arn:aws-us-gov:iam::1:role/r',
      'https://signin.amazonaws-us-gov.com/federation',
      'console.amazonaws-us-gov.com',
    ],
  ])('%s uses the endpoints of its partition', (arn, endpoint, consoleHost) => {
    expect(federationEndpoint(arn)).toBe(endpoint);
    expect(consoleDestination(arn, 'eu-west-1')).toBe(
      `https://eu-west-1.${consoleHost}/console/home?region=eu-west-1`,
    );
  });

  it('a refusal by the endpoint is aws_federation_failed and never echoes the credentials', async () => {
    for (const respond of [
      async () => new Response('denied', { status: 400 }),
      async () => new Response('{}', { status: 200 }),
      async () => {
        throw new Error('network down with SECRET in it');
      },
    ]) {
      const federation = new HttpsConsoleFederation(respond as unknown as typeof fetch);
      const error = await federation.signinToken(session, 'arn:aws:iam::1:role/r').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('aws_federation_failed');
      expect(
        JSON.stringify({ message: (error as Error).message, extra: (error as DomainError).extra }),
      ).not.toMatch(/SECRET|TOKEN/);
    }
  });
});

describe('simulated twins', () => {
  it('issue visibly fake credentials for the requested duration and keep what would have been sent', async () => {
    const clock = new FrozenClock();
    const sts = new SimulatedCredentialIssuer(clock);
    const input = {
      roleArn: 'arn:aws:iam::123456789012:role/r',
      roleSessionName: 'alice.req_1',
      sourceIdentity: 'alice@example.com',
      tags: [],
      policy: '{}',
      policyArns: [],
      durationSeconds: 900,
    };
    const session = await sts.assumeRole(input);
    expect(session.accessKeyId).toMatch(/^ASIASIMULATED[A-Z2-7]{7}$/);
    expect(session.accessKeyId).toHaveLength(20);
    expect(session.expiration.getTime() - clock.now().getTime()).toBe(900_000);
    expect(session.assumedRoleArn).toBe('arn:aws:sts::123456789012:assumed-role/r/alice.req_1');
    expect(sts.calls).toEqual([input]);

    const iam = new SimulatedRolePolicies();
    await iam.putRolePolicy('r', 'breakglass-revocations', '{"x":1}');
    expect(await iam.getRolePolicy('r', 'breakglass-revocations')).toBe('{"x":1}');
    await iam.deleteRolePolicy('r', 'breakglass-revocations');
    expect(await iam.getRolePolicy('r', 'breakglass-revocations')).toBeNull();
  });
});
