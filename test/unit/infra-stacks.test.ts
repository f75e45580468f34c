/** Synth tests: the security-relevant properties of the CloudFormation templates, and cdk-nag with no open findings. */
import { readFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { INDEXES } from '../../api/adapters/dynamodb/table.js';
import { exampleConfigPath } from '../../api/config/load.js';
import { BrokerStack } from '../../infra/lib/broker-stack.js';
import { DataBunkerStack } from '../../infra/lib/data-bunker-stack.js';
import { BreakglassRevokerRole, BreakglassTargetRole } from '../../infra/lib/target-role.js';

// Synthesis takes seconds, not milliseconds.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const BROKER = '111111111111';
const SECURITY = '222222222222';
const WORKLOAD = '123456789012';
const region = 'us-east-1';
const inlineCode = () => lambda.Code.fromInline('exports.handler = async () => ({});');

function brokerStack(app = new App(), props: Partial<ConstructorParameters<typeof BrokerStack>[2]> = {}) {
  return new BrokerStack(app, 'Broker', {
    env: { account: BROKER, region },
    configText: readFileSync(exampleConfigPath, 'utf8'),
    securityAccountId: SECURITY,
    lambdaCode: inlineCode,
    secretsSource: 'secretsmanager:breakglass/',
    organizationId: 'o-abc123',
    alarmEmail: 'oncall@example.com',
    ...props,
  });
}

/** Every statement of the IAM policy resources attached to `roleLogicalId`. */
function statementsOf(template: Template, roleLogicalId: string): Array<Record<string, unknown>> {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) =>
      (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleLogicalId),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('BrokerStack', () => {
  let template: Template;
  let issuerId: string;
  let transitionsId: string;
  beforeAll(() => {
    template = Template.fromStack(brokerStack());
    issuerId = logicalIdOf(template, 'AWS::IAM::Role', { RoleName: 'breakglass-issuer' });
    transitionsId = logicalIdOf(template, 'AWS::IAM::Role', { RoleName: 'breakglass-transitions' });
  });

  it('keeps the table on-demand, recoverable, undeletable, KMS-encrypted, with TTL and a NEW_IMAGE stream', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp('Breakglass table'),
    });
  });

  it('creates exactly the GSIs the store queries', () => {
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]!;
    const indexes = table.Properties.GlobalSecondaryIndexes as Array<{
      IndexName: string;
      KeySchema: Array<{ AttributeName: string }>;
      Projection: { ProjectionType: string };
    }>;
    expect(
      Object.fromEntries(
        indexes.map((index) => [index.IndexName, index.KeySchema.map((k) => k.AttributeName)]),
      ),
    ).toEqual(Object.fromEntries(Object.entries(INDEXES).map(([name, keys]) => [name, [keys.pk, keys.sk]])));
    expect(indexes.every((index) => index.Projection.ProjectionType === 'ALL')).toBe(true);
  });

  it('runs the five functions on nodejs22.x / arm64 with their own roles', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Environment.Variables.BREAKGLASS_CONFIG_PARAMETER).toBeDefined();
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'breakglass-transitions',
      Role: { 'Fn::GetAtt': [transitionsId, 'Arn'] },
    });
    // The API function runs as the issuer role: no second hop before AssumeRole.
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Role: { 'Fn::GetAtt': [issuerId, 'Arn'] },
    });
  });

  it('gives the issuer role exactly: AssumeRole/SetSourceIdentity/TagSession on tagged roles in the organisation', () => {
    const statements = statementsOf(template, issuerId).map((s) => inPartition(s) as Record<string, unknown>);
    const assume = statements.find((s) => s.Sid === 'AssumeBreakglassTargets');
    expect(assume).toEqual({
      Sid: 'AssumeBreakglassTargets',
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
      Resource: 'arn:aws:iam::*:role/*',
      Condition: {
        StringEquals: { 'aws:ResourceTag/breakglass:target': 'true', 'aws:ResourceOrgID': 'o-abc123' },
      },
    });
    const revoke = statements.find((s) => s.Sid === 'RevokeOnBreakglassTargetsInThisAccount');
    // Writes only on roles with a permissions boundary: the broker cannot make a role more than it was designed.
    expect(revoke).toEqual({
      Sid: 'RevokeOnBreakglassTargetsInThisAccount',
      Effect: 'Allow',
      Action: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
      Resource: `arn:aws:iam::${BROKER}:role/*`,
      Condition: {
        StringEquals: { 'aws:ResourceTag/breakglass:target': 'true' },
        Null: { 'iam:PermissionsBoundary': 'false' },
      },
    });
    expect(statements.find((s) => s.Sid === 'ReadBreakglassTargetsInThisAccount')).toEqual({
      Sid: 'ReadBreakglassTargetsInThisAccount',
      Effect: 'Allow',
      Action: ['iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:GetRole'],
      Resource: `arn:aws:iam::${BROKER}:role/*`,
      Condition: { StringEquals: { 'aws:ResourceTag/breakglass:target': 'true' } },
    });
    expect(statements.find((s) => s.Sid === 'AssumeRevokers')).toMatchObject({
      Resource: 'arn:aws:iam::*:role/breakglass-revoker',
      Condition: { StringEquals: { 'aws:ResourceTag/breakglass:target': 'revoker' } },
    });
    // Nothing else in IAM or STS: no wildcard actions, no unconditioned AssumeRole.
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]);
    expect(actions.filter((a) => /^(iam|sts):/.test(a)).sort()).toEqual(
      [
        'iam:DeleteRolePolicy',
        'iam:GetRole',
        'iam:GetRolePolicy',
        'iam:ListRolePolicies',
        'iam:PassRole',
        'iam:PutRolePolicy',
        'sts:AssumeRole',
        'sts:AssumeRole',
        'sts:SetSourceIdentity',
        'sts:SetSourceIdentity',
        'sts:TagSession',
        'sts:TagSession',
      ].sort(),
    );
    expect(actions.some((a) => a.endsWith(':*') || a === '*')).toBe(false);
    expect(statements.find((s) => s.Sid === 'PassSchedulerRole')).toMatchObject({
      Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
  });

  it('limits the transitions role to schedules and revocations, never AssumeRole on targets', () => {
    const statements = statementsOf(template, transitionsId);
    expect(statements.find((s) => s.Sid === 'AssumeBreakglassTargets')).toBeUndefined();
    expect(statements.find((s) => s.Sid === 'ManageBreakglassSchedules')).toMatchObject({
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:scheduler:${region}:${BROKER}:schedule/breakglass/*`],
        ],
      },
    });
  });

  it('lets EventBridge Scheduler (only from this account and group) invoke the transition function and use the DLQ', () => {
    const schedulerId = logicalIdOf(template, 'AWS::IAM::Role', { RoleName: 'breakglass-scheduler' });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'breakglass-scheduler',
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': BROKER },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          },
        ],
      },
    });
    const statements = statementsOf(template, schedulerId);
    const transitionFn = logicalIdOf(template, 'AWS::Lambda::Function', {
      FunctionName: 'breakglass-transitions',
    });
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: [
          { 'Fn::GetAtt': [transitionFn, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [transitionFn, 'Arn'] }, ':*']] },
        ],
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:SendMessage']) }),
    );
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContain('sts:AssumeRole');
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'breakglass' });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'breakglass-schedules-dlq',
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('signs audit digests with an ECC_NIST_P256 SIGN_VERIFY key only the shipper may use for signing', () => {
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
    });
    const shipperId = logicalIdOf(template, 'AWS::IAM::Role', { RoleName: 'breakglass-shipper' });
    const signers = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([, policy]) =>
        (policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).some((s) =>
          [s.Action].flat().includes('kms:Sign'),
        ),
      )
      .flatMap(([, policy]) => (policy.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref));
    expect(signers).toEqual([shipperId]);
    expect(statementsOf(template, shipperId).find((s) => s.Sid === 'WriteDataBunker')).toEqual({
      Sid: 'WriteDataBunker',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:GetObject'],
      Resource: `arn:aws:s3:::breakglass-audit-${SECURITY}-${region}/breakglass/*`,
    });
  });

  it('streams the audit routes through a RESPONSE_STREAM Function URL on a 15-minute function', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
    expect(Object.keys(template.findResources('AWS::Lambda::Url'))).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      MemorySize: 1024,
      Role: { 'Fn::GetAtt': [issuerId, 'Arn'] },
    });
    template.hasOutput('AuditUrl', {});
  });

  it('throttles the HTTP API and logs access', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { PayloadFormatVersion: '2.0' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('alarms on transition failures, DLQ depth, shipper lag, seal lag and revocation failures to an encrypted topic', () => {
    const topicId = logicalIdOf(template, 'AWS::SNS::Topic', { DisplayName: 'Breakglass alarms' });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
    const byMetric = (name: string) =>
      alarms.find(
        (alarm) =>
          alarm.Properties.MetricName === name ||
          (
            alarm.Properties.Metrics as Array<{ MetricStat?: { Metric: { MetricName: string } } }> | undefined
          )?.some((m) => m.MetricStat?.Metric.MetricName === name),
      );
    expect(byMetric('TransitionFailures')?.Properties.Threshold).toBe(1);
    expect(byMetric('Errors')).toBe(byMetric('TransitionFailures'));
    expect(byMetric('ApproximateNumberOfMessagesVisible')?.Properties.Threshold).toBe(1);
    expect(byMetric('IteratorAge')?.Properties).toMatchObject({ Threshold: 300_000, Statistic: 'Maximum' });
    expect(byMetric('SealLagSeconds')?.Properties).toMatchObject({
      Namespace: 'Breakglass',
      Threshold: 60,
      Statistic: 'Maximum',
    });
    expect(byMetric('RevocationFailures')?.Properties).toMatchObject({
      Namespace: 'Breakglass',
      Threshold: 1,
    });
  });

  it('feeds the shipper from the table stream with per-record failure reporting', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('invokes the shipper every minute too, so the heartbeat digest is written when nothing happens', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    const heartbeat = rules.find((rule) => /heartbeat/i.test(String(rule.Properties.Description)));
    expect(heartbeat?.Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)' });
    const target = JSON.stringify(heartbeat?.Properties.Targets);
    const shipperId = Object.entries(template.findResources('AWS::Lambda::Function')).find(([, fn]) =>
      JSON.stringify(fn).includes('shipper'),
    )?.[0];
    expect(shipperId).toBeDefined();
    expect(target).toContain(shipperId!);
  });

  it('stores the config in SSM and only lets the functions read secrets under their prefix', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/breakglass/config',
      Type: 'String',
      Value: Match.stringLikeRegexp('prod-admin'),
    });
    const statements = statementsOf(template, issuerId);
    expect(statements.find((s) => s.Sid === 'ReadSecrets')).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:${region}:${BROKER}:secret:breakglass/*`],
        ],
      },
    });
  });
});

describe('DataBunkerStack', () => {
  it('locks objects in COMPLIANCE mode for the configured retention, versioned, owner-enforced and private', () => {
    const template = Template.fromStack(
      new DataBunkerStack(new App(), 'Bunker', {
        env: { account: SECURITY, region },
        brokerAccountId: BROKER,
      }),
    );
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketName: `breakglass-audit-${SECURITY}-${region}`,
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } },
        },
        VersioningConfiguration: { Status: 'Enabled' },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } },
          ],
        },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }] })],
        },
      },
    });
  });

  it('takes the retention from props', () => {
    const template = Template.fromStack(
      new DataBunkerStack(new App(), 'Bunker', {
        env: { account: SECURITY, region },
        brokerAccountId: BROKER,
        retentionDays: 2555,
      }),
    );
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });
  });

  it('denies plain HTTP and every delete, and lets the broker shipper only PutObject/GetObject under its prefix', () => {
    const stack = new DataBunkerStack(new App(), 'Bunker', {
      env: { account: SECURITY, region },
      brokerAccountId: BROKER,
      athena: true,
    });
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter((policy) =>
      JSON.stringify(policy.Properties.Bucket).includes(
        stack.getLogicalId(stack.bucket.node.defaultChild as s3.CfnBucket),
      ),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const deny = statements.find((s) => s.Sid === 'DenyDeletesAndLockChanges')!;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' } });
    expect(deny.Action).toEqual(
      expect.arrayContaining([
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutBucketObjectLockConfiguration',
      ]),
    );
    const shipper = `arn:aws:iam::${BROKER}:role/breakglass-shipper`;
    expect(statements.find((s) => s.Sid === 'DenyOverwrites')).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Condition: { Null: { 's3:if-none-match': 'true' } },
    });
    const allow = statements.filter((s) => s.Effect === 'Allow');
    expect(allow).toEqual([
      expect.objectContaining({
        Principal: { AWS: shipper },
        Action: ['s3:PutObject', 's3:GetObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/breakglass/*']] },
      }),
    ]);
    expect(statements.find((s) => s.Sid === 'BrokerShipperNothingOutsideItsPrefix')).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: shipper },
      NotAction: ['s3:PutObject', 's3:GetObject'],
    });
    template.hasResourceProperties('AWS::Glue::Table', { TableInput: Match.objectLike({ Name: 'events' }) });
  });

  /** The bucket policy and the shipper's allow, evaluated by iam-simulate for one PutObject. */
  async function put(principal: string, context: Record<string, string>): Promise<string> {
    const stack = new DataBunkerStack(new App(), 'Bunker', {
      env: { account: SECURITY, region },
      brokerAccountId: BROKER,
    });
    const template = Template.fromStack(stack);
    // The bunker bucket's own policy (the access-log bucket has another).
    const policy = Object.values(template.findResources('AWS::S3::BucketPolicy')).find((candidate) =>
      JSON.stringify(candidate).includes('DenyOverwrites'),
    )!.Properties.PolicyDocument;
    const bucketArn = `arn:aws:s3:::breakglass-audit-${SECURITY}-${region}`;
    const resolved = inPartition(
      JSON.parse(
        JSON.stringify(policy).replace(/\{"Fn::GetAtt":\["[^"]+","Arn"\]\}/g, JSON.stringify(bucketArn)),
      ),
    ) as Record<string, unknown>;
    const result = await runSimulation(
      {
        request: {
          principal,
          action: 's3:PutObject',
          resource: {
            resource: `${bucketArn}/breakglass/events/2026/11/28/000000000001-evt_1.json`,
            accountId: SECURITY,
          },
          contextVariables: { 'aws:SecureTransport': 'true', 'aws:PrincipalAccount': BROKER, ...context },
        },
        identityPolicies: [
          {
            name: 'shipper',
            policy: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: '*' }],
            },
          },
        ],
        resourcePolicy: resolved,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (!('overallResult' in result)) throw new Error(JSON.stringify(result));
    return result.overallResult;
  }

  it('is write-once: a PutObject without If-None-Match is denied, also to the shipper (iam-simulate)', async () => {
    const shipper = `arn:aws:iam::${BROKER}:role/breakglass-shipper`;
    expect(await put(shipper, { 's3:if-none-match': '*' })).toBe('Allowed');
    expect(await put(shipper, {})).toBe('ExplicitlyDenied');
  });
});

describe('BreakglassTargetRole', () => {
  it('trusts only the broker issuer role, with SourceIdentity required, ExternalId and session tags', () => {
    const stack = new Stack(new App(), 'Workload', { env: { account: WORKLOAD, region } });
    new BreakglassTargetRole(stack, 'Admin', {
      roleName: 'breakglass-prod-admin',
      brokerAccountId: BROKER,
      externalId: 'bg-prod',
      inlinePolicies: {
        ops: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['ec2:RebootInstances'], resources: ['*'] })],
        }),
      },
    });
    const template = Template.fromStack(stack);
    const [role] = Object.values(
      template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'breakglass-prod-admin' } }),
    );
    const principal = { AWS: `arn:aws:iam::${BROKER}:role/breakglass-issuer` };
    expect(inPartition(role!.Properties.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'BrokerAssumesWithExternalIdAndSourceIdentity',
          Effect: 'Allow',
          Principal: principal,
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'sts:ExternalId': 'bg-prod' },
            Null: { 'sts:SourceIdentity': 'false', 'aws:RequestTag/breakglass:request': 'false' },
          },
        },
        {
          Sid: 'BrokerSetsSourceIdentity',
          Effect: 'Allow',
          Principal: principal,
          Action: 'sts:SetSourceIdentity',
          Condition: {
            Null: { 'sts:SourceIdentity': 'false' },
            StringLike: { 'sts:SourceIdentity': '??*' },
            StringNotLike: { 'sts:SourceIdentity': 'aws:*' },
          },
        },
        {
          Sid: 'BrokerTagsSessionWithGrant',
          Effect: 'Allow',
          Principal: principal,
          Action: 'sts:TagSession',
          Condition: {
            Null: { 'aws:RequestTag/breakglass:request': 'false' },
            'ForAllValues:StringEquals': { 'aws:TagKeys': ['breakglass:request', 'breakglass:requester'] },
          },
        },
      ],
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'breakglass-prod-admin',
      MaxSessionDuration: 3600,
      Tags: [{ Key: 'breakglass:target', Value: 'true' }],
      Policies: [{ PolicyName: 'ops', PolicyDocument: Match.objectLike({}) }],
    });
  });

  it('gives the revoker role only inline-policy access to tagged roles, trusted by the broker roles', () => {
    const stack = new Stack(new App(), 'Workload', { env: { account: WORKLOAD, region } });
    new BreakglassRevokerRole(stack, 'Revoker', { brokerAccountId: BROKER, externalId: 'bg-prod' });
    const template = Template.fromStack(stack);
    const [role] = Object.values(
      template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'breakglass-revoker' } }),
    );
    expect(role!.Properties.Tags).toEqual([{ Key: 'breakglass:target', Value: 'revoker' }]);
    expect(inPartition(role!.Properties.AssumeRolePolicyDocument)).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Principal: {
            AWS: [
              `arn:aws:iam::${BROKER}:role/breakglass-issuer`,
              `arn:aws:iam::${BROKER}:role/breakglass-transitions`,
            ],
          },
          Condition: { StringEquals: { 'sts:ExternalId': 'bg-prod' } },
        },
      ],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Sid: 'RevokeBreakglassSessions',
            Effect: 'Allow',
            Action: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
            Resource: Match.anyValue(),
            Condition: {
              StringEquals: { 'aws:ResourceTag/breakglass:target': 'true' },
              Null: { 'iam:PermissionsBoundary': 'false' },
            },
          },
          {
            Sid: 'ReadBreakglassRoles',
            Effect: 'Allow',
            Action: ['iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:GetRole'],
            Resource: Match.anyValue(),
            Condition: { StringEquals: { 'aws:ResourceTag/breakglass:target': 'true' } },
          },
        ],
      },
    });
  });
});

/** A synthesized policy document with `arn:${AWS::Partition}:…` joins resolved for the commercial partition. */
function inPartition(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inPartition);
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (object.Ref === 'AWS::Partition') return 'aws';
    const join = object['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(inPartition).join(join[0]);
    return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, inPartition(inner)]));
  }
  return value;
}

describe('BreakglassTargetRole trust, evaluated per action', () => {
  const issuer = `arn:aws:iam::${BROKER}:role/breakglass-issuer`;
  const targetArn = `arn:aws:iam::${WORKLOAD}:role/breakglass-prod-admin`;
  let trust: unknown;
  beforeAll(() => {
    const stack = new Stack(new App(), 'Workload', { env: { account: WORKLOAD, region } });
    new BreakglassTargetRole(stack, 'Admin', {
      roleName: 'breakglass-prod-admin',
      brokerAccountId: BROKER,
      externalId: 'bg-prod',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
    });
    const role = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role'))[0]!;
    trust = inPartition(role.Properties.AssumeRolePolicyDocument);
  });

  /**
   * One STS action across accounts: the issuer's own policy allows it, so the trust policy decides. AWS
   * authorises AssumeRole, SetSourceIdentity and TagSession separately, each with only its own condition keys
   * (iam-simulate drops context keys an action does not have), so each is simulated on its own.
   */
  async function trusts(
    action: 'sts:AssumeRole' | 'sts:SetSourceIdentity' | 'sts:TagSession',
    principal: string,
    context: Record<string, string | string[]>,
  ): Promise<string> {
    const result = await runSimulation(
      {
        request: {
          principal,
          action,
          resource: { resource: targetArn, accountId: WORKLOAD },
          contextVariables: { 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': BROKER, ...context },
        },
        identityPolicies: [
          {
            name: 'issuer',
            policy: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }],
            },
          },
        ],
        resourcePolicy: trust,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (!('overallResult' in result)) throw new Error(JSON.stringify(result));
    return result.overallResult;
  }

  /** Exactly what the broker's AssumeRole call carries (api/services/grant-service.ts). */
  const broker = {
    'sts:SourceIdentity': 'alice@example.com',
    'sts:ExternalId': 'bg-prod',
    'aws:RequestTag/breakglass:request': 'req_01',
    'aws:RequestTag/breakglass:requester': 'alice@example.com',
    'aws:TagKeys': ['breakglass:request', 'breakglass:requester'],
  };
  const ACTIONS = ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'] as const;

  it('has one statement per action', () => {
    const statements = (trust as { Statement: Array<{ Action: unknown }> }).Statement;
    expect(statements.map((statement) => statement.Action)).toEqual([...ACTIONS]);
  });

  it.each(ACTIONS)("allows %s with exactly the broker's request", async (action) => {
    expect(await trusts(action, issuer, broker)).toBe('Allowed');
  });

  it('refuses AssumeRole with a wrong or missing ExternalId', async () => {
    const { 'sts:ExternalId': _id, ...noId } = broker;
    expect(await trusts('sts:AssumeRole', issuer, { ...broker, 'sts:ExternalId': 'guess' })).not.toBe(
      'Allowed',
    );
    expect(await trusts('sts:AssumeRole', issuer, noId)).not.toBe('Allowed');
  });

  it('refuses AssumeRole and SetSourceIdentity without a SourceIdentity, and an aws: prefixed one', async () => {
    const { 'sts:SourceIdentity': _source, ...noSource } = broker;
    expect(await trusts('sts:AssumeRole', issuer, noSource)).not.toBe('Allowed');
    expect(await trusts('sts:SetSourceIdentity', issuer, noSource)).not.toBe('Allowed');
    expect(
      await trusts('sts:SetSourceIdentity', issuer, { ...broker, 'sts:SourceIdentity': 'aws:root' }),
    ).not.toBe('Allowed');
  });

  it('refuses a session without the grant tag (AssumeRole and TagSession), or with a tag key of its own', async () => {
    const {
      'aws:RequestTag/breakglass:request': _tag,
      'aws:RequestTag/breakglass:requester': _requester,
      'aws:TagKeys': _keys,
      ...untagged
    } = broker;
    expect(await trusts('sts:AssumeRole', issuer, untagged)).not.toBe('Allowed');
    expect(
      await trusts('sts:TagSession', issuer, { ...untagged, 'aws:TagKeys': ['breakglass:requester'] }),
    ).not.toBe('Allowed');
    // A tag an ABAC policy might trust (`team=platform`) is not the broker's to add.
    expect(
      await trusts('sts:TagSession', issuer, {
        ...broker,
        'aws:RequestTag/team': 'platform',
        'aws:TagKeys': ['breakglass:request', 'team'],
      }),
    ).not.toBe('Allowed');
  });

  it.each(ACTIONS)('refuses %s to any other principal in the broker account', async (action) => {
    expect(await trusts(action, `arn:aws:iam::${BROKER}:role/breakglass-transitions`, broker)).not.toBe(
      'Allowed',
    );
  });
});

describe('a compromised broker cannot escalate, evaluated', () => {
  const targetArn = `arn:aws:iam::${BROKER}:role/breakglass-shared-readonly`;
  const readOnlyBoundary = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
  /** Stand-in for ReadOnlyAccess: the simulator has no copy of AWS managed policies. */
  const READ_ONLY = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:Get*', 's3:List*', 'iam:Get*', 'iam:List*'], Resource: '*' }],
  };
  const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  let issuerPolicies: Array<{ name: string; policy: unknown }>;

  beforeAll(() => {
    const template = Template.fromStack(brokerStack(new App(), { organizationId: undefined }));
    const issuerId = logicalIdOf(template, 'AWS::IAM::Role', { RoleName: 'breakglass-issuer' });
    issuerPolicies = [
      {
        name: 'issuer',
        // The IAM and STS statements (the others name table and key attributes the simulator cannot resolve).
        policy: {
          Version: '2012-10-17',
          Statement: statementsOf(template, issuerId)
            .filter((s) => /Breakglass|Revokers/.test(String(s.Sid)))
            .map(inPartition),
        },
      },
    ];
  });

  async function simulate(options: {
    principal: string;
    action: string;
    resource: string;
    identity: Array<{ name: string; policy: unknown }>;
    boundary?: unknown;
    context?: Record<string, string | string[]>;
  }): Promise<string> {
    const result = await runSimulation(
      {
        request: {
          principal: options.principal,
          action: options.action,
          resource: { resource: options.resource, accountId: BROKER },
          contextVariables: { 'aws:PrincipalArn': options.principal, ...options.context },
        },
        identityPolicies: options.identity,
        ...(options.boundary
          ? { permissionBoundaryPolicies: [{ name: 'boundary', policy: options.boundary }] }
          : {}),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (!('overallResult' in result)) throw new Error(JSON.stringify(result));
    return result.overallResult;
  }

  const issuer = `arn:aws:iam::${BROKER}:role/breakglass-issuer`;
  const tagged = { 'aws:ResourceTag/breakglass:target': 'true' };

  it('the issuer may write an inline policy only on a tagged role that carries a permissions boundary', async () => {
    const put = (context: Record<string, string>) =>
      simulate({
        principal: issuer,
        action: 'iam:PutRolePolicy',
        resource: targetArn,
        identity: issuerPolicies,
        context,
      });
    expect(await put({ ...tagged, 'iam:PermissionsBoundary': readOnlyBoundary })).toBe('Allowed');
    expect(await put(tagged)).not.toBe('Allowed');
    expect(await put({ 'iam:PermissionsBoundary': readOnlyBoundary })).not.toBe('Allowed');
  });

  it('an inline Allow * the broker wrote on a read-only role grants nothing beyond its boundary', async () => {
    const session = `arn:aws:sts::${BROKER}:assumed-role/breakglass-shared-readonly/alice.req_1`;
    const identity = [
      { name: 'ReadOnlyAccess', policy: READ_ONLY },
      { name: 'breakglass-revocations', policy: ALLOW_ALL },
    ];
    const escalate = (boundary?: unknown) =>
      simulate({
        principal: session,
        action: 'iam:CreateUser',
        resource: `arn:aws:iam::${BROKER}:user/backdoor`,
        identity,
        ...(boundary ? { boundary } : {}),
      });
    // Without the boundary the written Allow * would make the read-only role an administrator.
    expect(await escalate()).toBe('Allowed');
    expect(await escalate(READ_ONLY)).not.toBe('Allowed');
    expect(
      await simulate({
        principal: session,
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::prod-data/report.csv',
        identity,
        boundary: READ_ONLY,
      }),
    ).toBe('Allowed');
  });

  it('the issuer may assume targets only in its own organisation, by default', async () => {
    const assume = (resourceOrg: string) =>
      simulate({
        principal: issuer,
        action: 'sts:AssumeRole',
        resource: `arn:aws:iam::${WORKLOAD}:role/breakglass-prod-admin`,
        identity: issuerPolicies,
        context: { ...tagged, 'aws:PrincipalOrgID': 'o-broker', 'aws:ResourceOrgID': resourceOrg },
      });
    expect(await assume('o-broker')).toBe('Allowed');
    expect(await assume('o-elsewhere')).not.toBe('Allowed');
  });

  it('drops the organisation condition only on an explicit opt-out', () => {
    const template = Template.fromStack(
      brokerStack(new App(), { organizationId: undefined, allowTargetsOutsideOrganization: true }),
    );
    const issuerId = logicalIdOf(template, 'AWS::IAM::Role', { RoleName: 'breakglass-issuer' });
    const assume = statementsOf(template, issuerId).find((s) => s.Sid === 'AssumeBreakglassTargets');
    expect(assume).toMatchObject({
      Condition: { StringEquals: { 'aws:ResourceTag/breakglass:target': 'true' } },
    });
    expect(JSON.stringify(assume)).not.toContain('ResourceOrgID');
  });
});

describe('BreakglassTargetRole permissions boundary', () => {
  it('is the role’s one managed policy by default', () => {
    const stack = new Stack(new App(), 'Workload', { env: { account: WORKLOAD, region } });
    new BreakglassTargetRole(stack, 'ReadOnly', {
      roleName: 'breakglass-prod-readonly',
      brokerAccountId: BROKER,
      externalId: 'bg-prod',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
    });
    const [role] = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role'));
    expect(inPartition(role!.Properties.PermissionsBoundary)).toBe('arn:aws:iam::aws:policy/ReadOnlyAccess');
  });

  it('holds the inline policies’ statements when the role has only inline policies', () => {
    const stack = new Stack(new App(), 'Workload', { env: { account: WORKLOAD, region } });
    new BreakglassTargetRole(stack, 'Ops', {
      roleName: 'breakglass-prod-ops',
      brokerAccountId: BROKER,
      externalId: 'bg-prod',
      inlinePolicies: {
        ops: new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['ec2:RebootInstances'], resources: ['*'] })],
        }),
      },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'breakglass-prod-ops-boundary',
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'ec2:RebootInstances', Resource: '*' }] },
    });
    const [role] = Object.values(template.findResources('AWS::IAM::Role'));
    expect(role!.Properties.PermissionsBoundary).toEqual({ Ref: expect.stringMatching(/Boundary/) });
  });

  it('must be given when it cannot be derived', () => {
    const stack = new Stack(new App(), 'Workload', { env: { account: WORKLOAD, region } });
    expect(
      () =>
        new BreakglassTargetRole(stack, 'Mixed', {
          roleName: 'breakglass-prod-mixed',
          brokerAccountId: BROKER,
          externalId: 'bg-prod',
          managedPolicies: [
            iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess'),
            iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonEC2FullAccess'),
          ],
        }),
    ).toThrow(/pass permissionsBoundary/);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('has no unacknowledged findings across the broker, bunker and workload stacks', () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    brokerStack(app);
    new DataBunkerStack(app, 'Bunker', {
      env: { account: SECURITY, region },
      brokerAccountId: BROKER,
      athena: true,
    });
    const workload = new Stack(app, 'Workload', { env: { account: WORKLOAD, region } });
    new BreakglassRevokerRole(workload, 'Revoker', { brokerAccountId: BROKER, externalId: 'bg-prod' });
    new BreakglassTargetRole(workload, 'ReadOnly', {
      roleName: 'breakglass-prod-readonly',
      brokerAccountId: BROKER,
      externalId: 'bg-prod',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
    });
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(`${assembly.directory}/validation-report.json`, 'utf8'));
    expect(report.pluginReports.flatMap((plugin: { violations: unknown[] }) => plugin.violations)).toEqual(
      [],
    );
    // Every acknowledgement carries a written reason.
    const acknowledged = app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(10);
    for (const [rule, reason] of acknowledged) {
      expect(rule).toMatch(/AwsSolutions-/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });

  it('does fail synthesis on an unreviewed finding (the checks really run)', () => {
    const app = new App();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new Stack(app, 'Careless', { env: { account: WORKLOAD, region } });
    new s3.Bucket(stack, 'Open', { enforceSSL: false });
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });
});
