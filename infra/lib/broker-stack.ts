/** The broker in the shared-services account: table, functions, HTTP API, scheduler wiring, issuer role, alarms. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArnFormat,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Token,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { parse as parseYaml } from 'yaml';
import { TTL_ATTRIBUTE, tableDefinition } from '../../api/adapters/dynamodb/table.js';
import { acknowledge } from './nag.js';
import {
  bunkerBucketName,
  ISSUER_ROLE_NAME,
  REVOKER_ROLE_NAME,
  REVOKER_TAG_VALUE,
  SCHEDULE_GROUP_NAME,
  SCHEDULER_ROLE_NAME,
  SHIPPER_ROLE_NAME,
  TARGET_TAG_KEY,
  TARGET_TAG_VALUE,
  TRANSITION_FUNCTION_NAME,
  TRANSITIONS_ROLE_NAME,
} from './names.js';
import { type TrailReadAccess, trailReaderStatements } from './trail-read-access.js';

export type LambdaName = 'http' | 'audit' | 'transition' | 'sweeper' | 'shipper';

export interface BrokerStackProps extends StackProps {
  /** The broker's breakglass.yaml. Stored in SSM Parameter Store (no secrets belong in it). */
  configText: string;
  /** The security account holding the data bunker. */
  securityAccountId: string;
  /** Region of the bunker bucket; this stack's region when omitted. */
  bunkerRegion?: string;
  /** Key prefix the broker may write under (must match `bunker.prefix`). */
  bunkerPrefix?: string;
  /**
   * Where the Lambdas read secrets: `secretsmanager:<prefix>` or `ssm:<path prefix>` (see docs/deploy.md).
   * Only secrets under the prefix are readable.
   */
  secretsSource?: string;
  /**
   * Restricts AssumeRole to roles in this AWS Organization (aws:ResourceOrgID). Without it the issuer may still
   * only assume roles in its own organisation (`aws:ResourceOrgID` = `${aws:PrincipalOrgID}`).
   */
  organizationId?: string;
  /** Opt-out of the organisation condition, for a broker whose target roles live outside its organisation. */
  allowTargetsOutsideOrganization?: boolean;
  /** Gets the alarm notifications. */
  alarmEmail?: string;
  /** The HTTP API's steady-state and burst limits (requests per second). */
  throttle?: { rateLimit: number; burstLimit: number };
  /** Code for each function; the esbuild bundles in dist/lambda/<name> when omitted. */
  lambdaCode?: (name: LambdaName) => lambda.Code;
  logRetention?: logs.RetentionDays;
  /** The broker's public base URL when it sits behind a custom domain. */
  publicUrl?: string;
  /** The organisation trail the API reads, read-only, for grant activity reviews (`cloudtrail` in config). */
  cloudTrail?: Omit<TrailReadAccess, 'region'> & { region?: string };
}

const PACKAGE_ROOT = join(import.meta.dirname, '..', '..', '..');

/** The bundles `npm run build` writes; synth fails early with a clear message when they are missing. */
export function bundledCode(name: LambdaName): lambda.Code {
  const candidates = [
    join(PACKAGE_ROOT, 'dist', 'lambda', name),
    join(PACKAGE_ROOT, '..', 'dist', 'lambda', name),
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.mjs')));
  if (!found) throw new Error(`dist/lambda/${name}/index.mjs is missing: run \`npm run build\` first`);
  return lambda.Code.fromAsset(found);
}

export class BrokerStack extends Stack {
  readonly table: dynamodb.Table;
  readonly issuerRole: iam.Role;
  readonly schedulerRole: iam.Role;
  readonly shipperRole: iam.Role;
  readonly transitionsRole: iam.Role;
  readonly functions: Record<LambdaName, lambda.Function>;
  readonly api: apigw.HttpApi;
  /** The streaming Function URL of the audit routes (`/v1/audit/*`). */
  readonly auditUrl: lambda.FunctionUrl;
  readonly deadLetterQueue: sqs.Queue;
  readonly digestKey: kms.Key;
  readonly alarmTopic: sns.Topic;
  private readonly bunkerBucket: string;
  private readonly bunkerPrefix: string;
  private readonly bunkerRegion: string;
  private readonly securityAccountId: string;
  readonly alarms: Record<
    'transitionFailures' | 'dlqDepth' | 'shipperLag' | 'sealLag' | 'revocationFailures',
    cloudwatch.Alarm
  >;

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, props);
    const code = props.lambdaCode ?? bundledCode;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const bunkerRegion = props.bunkerRegion ?? this.region;
    const bunkerBucket = bunkerBucketName(props.securityAccountId, bunkerRegion);
    const bunkerPrefix = props.bunkerPrefix ?? 'breakglass/';
    this.bunkerRegion = bunkerRegion;
    this.bunkerBucket = bunkerBucket;
    this.bunkerPrefix = bunkerPrefix;
    this.securityAccountId = props.securityAccountId;

    // ---- storage -------------------------------------------------------------------------------------------
    const tableKey = new kms.Key(this, 'TableKey', {
      alias: 'alias/breakglass-table',
      description: 'Encrypts the Breakglass table (requests, audit chain) and its stream',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The key schema and indexes come from the code that queries them, so the two cannot drift apart.
    const definition = tableDefinition('breakglass');
    const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: key(definition.KeySchema[0]!.AttributeName),
      sortKey: key(definition.KeySchema[1]!.AttributeName),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: tableKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of definition.GlobalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.IndexName!,
        partitionKey: key(index.KeySchema![0]!.AttributeName!),
        sortKey: key(index.KeySchema![1]!.AttributeName!),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    // Stored as JSON: the functions then read it without loading a YAML parser at cold start.
    const configJson = JSON.stringify(parseYaml(props.configText));
    const configParameter = new ssm.StringParameter(this, 'Config', {
      parameterName: '/breakglass/config',
      description: 'breakglass.yaml as JSON (policy as code; no secrets)',
      stringValue: configJson,
      tier: configJson.length > 4096 ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
    });
    const configHash = createHash('sha256').update(props.configText).digest('hex').slice(0, 16);

    this.digestKey = new kms.Key(this, 'DigestKey', {
      alias: 'alias/breakglass-audit-digest',
      description: 'Signs the audit digests shipped to the data bunker (ES256)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDlq', {
      queueName: 'breakglass-schedules-dlq',
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: SCHEDULE_GROUP_NAME,
    });

    // ---- roles ---------------------------------------------------------------------------------------------
    const lambdaPrincipal = new iam.ServicePrincipal('lambda.amazonaws.com');
    this.issuerRole = new iam.Role(this, 'IssuerRole', {
      roleName: ISSUER_ROLE_NAME,
      assumedBy: lambdaPrincipal,
      description: 'The API function: assumes break-glass target roles and writes revocation policies',
    });
    this.transitionsRole = new iam.Role(this, 'TransitionsRole', {
      roleName: TRANSITIONS_ROLE_NAME,
      assumedBy: lambdaPrincipal,
      description: 'The transition and sweeper functions',
    });
    this.shipperRole = new iam.Role(this, 'ShipperRole', {
      roleName: SHIPPER_ROLE_NAME,
      assumedBy: lambdaPrincipal,
      description: 'The audit sealer: chains committed events, ships them to the data bunker, signs digests',
    });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      roleName: SCHEDULER_ROLE_NAME,
      description: 'EventBridge Scheduler invokes the transition function with this role',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': scheduleGroup.scheduleGroupArn },
        },
      }),
    });

    // The organisation condition is on by default: a named organisation, or else the broker's own.
    const organization: Record<string, string> = props.allowTargetsOutsideOrganization
      ? {}
      : // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved by AWS.
        { 'aws:ResourceOrgID': props.organizationId ?? '${aws:PrincipalOrgID}' };
    const targetCondition = {
      StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: TARGET_TAG_VALUE, ...organization },
    };
    const anyRole = (name: string) => `arn:${this.partition}:iam::*:role/${name}`;
    const issuerPolicy = new iam.Policy(this, 'IssuerPolicy', {
      policyName: 'breakglass-issuer',
      roles: [this.issuerRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'AssumeBreakglassTargets',
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          resources: [anyRole('*')],
          conditions: targetCondition,
        }),
      ],
    });
    // Revocations are written by the API and retried by the sweeper, so both roles carry this policy.
    const revocationPolicy = new iam.Policy(this, 'RevocationPolicy', {
      policyName: 'breakglass-revocation',
      roles: [this.issuerRole, this.transitionsRole],
      statements: [
        new iam.PolicyStatement({
          sid: 'AssumeRevokers',
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          resources: [anyRole(REVOKER_ROLE_NAME)],
          conditions: {
            StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: REVOKER_TAG_VALUE, ...organization },
          },
        }),
        new iam.PolicyStatement({
          // IAM has no condition key for an inline policy's name: scoped to tagged roles instead (docs/deploy.md),
          // and only to roles with a permissions boundary, so whatever the broker writes there (even Allow *) can
          // grant nothing beyond what the role was designed to allow.
          sid: 'RevokeOnBreakglassTargetsInThisAccount',
          actions: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
          resources: [this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' })],
          conditions: {
            StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: TARGET_TAG_VALUE },
            Null: { 'iam:PermissionsBoundary': 'false' },
          },
        }),
        new iam.PolicyStatement({
          sid: 'ReadBreakglassTargetsInThisAccount',
          actions: ['iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:GetRole'],
          resources: [this.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' })],
          conditions: { StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: TARGET_TAG_VALUE } },
        }),
      ],
    });
    // The API creates schedules (activation, expiry, timeouts) and the transition function creates follow-ups.
    for (const role of [this.issuerRole, this.transitionsRole]) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ManageBreakglassSchedules',
          actions: [
            'scheduler:CreateSchedule',
            'scheduler:UpdateSchedule',
            'scheduler:DeleteSchedule',
            'scheduler:GetSchedule',
          ],
          resources: [
            this.formatArn({
              service: 'scheduler',
              resource: 'schedule',
              resourceName: `${SCHEDULE_GROUP_NAME}/*`,
            }),
          ],
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PassSchedulerRole',
          actions: ['iam:PassRole'],
          resources: [this.schedulerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      );
    }
    for (const role of [this.issuerRole, this.transitionsRole, this.shipperRole]) {
      this.table.grantReadWriteData(role);
      configParameter.grantRead(role);
      if (props.secretsSource) this.grantSecrets(role, props.secretsSource);
    }
    this.table.grantStreamRead(this.shipperRole);
    this.digestKey.grant(this.shipperRole, 'kms:Sign', 'kms:GetPublicKey');
    this.digestKey.grant(this.issuerRole, 'kms:GetPublicKey');
    if (props.cloudTrail) {
      // The API Lambda runs as the issuer role; it reads the trail for GET /v1/requests/{id}/activity.
      const access = { ...props.cloudTrail, region: props.cloudTrail.region ?? this.region };
      for (const statement of trailReaderStatements(access)) this.issuerRole.addToPrincipalPolicy(statement);
    }
    this.shipperRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // GetObject only to compare bytes after a 412 (replay vs conflict); never List or Delete.
        sid: 'WriteDataBunker',
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [`arn:aws:s3:::${bunkerBucket}/${bunkerPrefix}*`],
      }),
    );
    this.shipperRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptForDataBunker',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [`arn:aws:kms:${bunkerRegion}:${props.securityAccountId}:key/*`],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${bunkerRegion}.amazonaws.com` },
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/breakglass-bunker' },
        },
      }),
    );

    // ---- functions -----------------------------------------------------------------------------------------
    const environment: Record<string, string> = {
      BREAKGLASS_CONFIG_PARAMETER: configParameter.parameterName,
      BREAKGLASS_CONFIG_SHA256: configHash,
      BREAKGLASS_TABLE: this.table.tableName,
      BREAKGLASS_ISSUER_ROLE_ARN: this.issuerRole.roleArn,
      BREAKGLASS_SCHEDULER_GROUP: SCHEDULE_GROUP_NAME,
      BREAKGLASS_SCHEDULER_TARGET_ARN: this.formatArn({
        service: 'lambda',
        resource: 'function',
        resourceName: TRANSITION_FUNCTION_NAME,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
      BREAKGLASS_SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      BREAKGLASS_SCHEDULER_DLQ_ARN: this.deadLetterQueue.queueArn,
      BREAKGLASS_DIGEST_KMS_KEY_ID: this.digestKey.keyArn,
      ...(props.secretsSource ? { BREAKGLASS_SECRETS_SOURCE: props.secretsSource } : {}),
      // Without a custom domain the HTTP function takes its public URL from the first request's host.
      ...(props.publicUrl ? { BREAKGLASS_PUBLIC_URL: props.publicUrl } : {}),
    };
    const makeFunction = (
      name: LambdaName,
      role: iam.Role,
      options: { memoryMb: number; timeout: Duration; functionName?: string; reserved?: number },
    ) => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      logGroup.grantWrite(role);
      const fn = new lambda.Function(this, `${name}Function`, {
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        handler: 'index.handler',
        code: code(name),
        role,
        memorySize: options.memoryMb,
        timeout: options.timeout,
        environment,
        logGroup,
        ...(options.functionName ? { functionName: options.functionName } : {}),
        ...(options.reserved !== undefined ? { reservedConcurrentExecutions: options.reserved } : {}),
      });
      return fn;
    };
    const http = makeFunction('http', this.issuerRole, { memoryMb: 1024, timeout: Duration.seconds(29) });
    const transition = makeFunction('transition', this.transitionsRole, {
      memoryMb: 512,
      timeout: Duration.seconds(60),
      functionName: TRANSITION_FUNCTION_NAME,
    });
    // One sweeper at a time: overlapping sweeps are harmless (conditional writes) but wasteful.
    const sweeper = makeFunction('sweeper', this.transitionsRole, {
      memoryMb: 512,
      timeout: Duration.seconds(55),
      reserved: 1,
    });
    // The sealer (its entry point is still called "shipper"): one at a time keeps the chain single and the
    // bunker in seq order; a second one running by mistake loses the chain head's condition instead of forking.
    const shipper = makeFunction('shipper', this.shipperRole, {
      memoryMb: 512,
      timeout: Duration.seconds(120),
      reserved: 1,
    });
    // The audit routes (exports, report, verify) stream through their own Function URL: an HTTP API buffers a
    // Lambda response (6 MB, 29 s), a RESPONSE_STREAM URL sends up to 200 MB over up to 15 minutes with flat
    // memory. The same app and role as the API function; it authenticates every call with the OIDC token, as
    // the API does (the HTTP API has no authorizer either). docs/audit.md#large-exports.
    const audit = makeFunction('audit', this.issuerRole, { memoryMb: 1024, timeout: Duration.minutes(15) });
    this.auditUrl = audit.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.NONE,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
    this.functions = { http, audit, transition, sweeper, shipper };

    transition.grantInvoke(this.schedulerRole);
    // Scheduler invokes Lambda asynchronously: its own retries and DLQ cover delivery, while a transition that
    // throws is retried by Lambda and then lands in the same DLQ, so the depth alarm sees both.
    transition.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    this.deadLetterQueue.grantSendMessages(this.schedulerRole);

    new events.Rule(this, 'SweepEveryMinute', {
      description: 'Applies every overdue transition; the fallback when a schedule did not fire',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(sweeper, { retryAttempts: 0 })],
    });

    // The heartbeat: with no commits the stream never wakes the sealer, yet a digest is due every
    // `everyMinutes`; without it a quiet trail could not be told from a truncated one (docs/audit.md).
    new events.Rule(this, 'ShipperHeartbeatEveryMinute', {
      description: 'Wakes the sealer so it writes the heartbeat digest even when nothing happened',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(shipper, { retryAttempts: 0 })],
    });

    const streamFailures = new sqs.Queue(this, 'ShipperStreamDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    shipper.addEventSource(
      new DynamoEventSource(this.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        retryAttempts: 20,
        // The stream only triggers shipping (the chain is read from the table), so a dropped record loses nothing.
        onFailure: new SqsDlq(streamFailures),
      }),
    );

    // ---- HTTP API ------------------------------------------------------------------------------------------
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: 'breakglass',
      description:
        'Breakglass API, web pages and Slack interactions (authentication happens in the function)',
      defaultIntegration: new HttpLambdaIntegration('Broker', http, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      }),
      createDefaultStage: false,
    });
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    // ---- alarms --------------------------------------------------------------------------------------------
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the Breakglass alarm topic',
      enableKeyRotation: true,
    });
    topicKey.grantEncryptDecrypt(new iam.ServicePrincipal('cloudwatch.amazonaws.com'));
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Breakglass alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const custom = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'Breakglass',
        metricName,
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    const alarm = (
      id: string,
      description: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      periods = 1,
    ) => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: periods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
      created.addOkAction(new cwActions.SnsAction(this.alarmTopic));
      return created;
    };
    this.alarms = {
      transitionFailures: alarm(
        'TransitionFailuresAlarm',
        'A scheduled lifecycle transition failed (the sweeper retries every minute; look at the transition logs)',
        new cloudwatch.MathExpression({
          expression: 'FILL(failures, 0) + FILL(errors, 0)',
          usingMetrics: {
            failures: custom('TransitionFailures'),
            errors: transition.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
          },
          period: Duration.minutes(1),
        }),
        1,
      ),
      dlqDepth: alarm(
        'ScheduleDlqDepthAlarm',
        'A schedule gave up on the transition function; its message is in the DLQ',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        1,
      ),
      shipperLag: alarm(
        'ShipperLagAlarm',
        'Audit events are not reaching the data bunker (stream iterator age above 5 minutes)',
        shipper.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
        5 * 60 * 1000,
        3,
      ),
      sealLag: alarm(
        'SealLagAlarm',
        'Committed audit events wait more than a minute for the sealer (the sealer Lambda fails or is throttled)',
        new cloudwatch.Metric({
          namespace: 'Breakglass',
          metricName: 'SealLagSeconds',
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        60,
        3,
      ),
      revocationFailures: alarm(
        'RevocationFailuresAlarm',
        'An early revocation could not be written to a target role: the grant may still work until it ends',
        custom('RevocationFailures'),
        1,
      ),
    };

    // ---- outputs -------------------------------------------------------------------------------------------
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'AuditUrl', {
      value: this.auditUrl.url,
      description:
        'Streaming endpoint for audit exports, reports and verify (use as --server for `audit` commands)',
    });
    new CfnOutput(this, 'IssuerRoleArn', { value: this.issuerRole.roleArn });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'DigestKeyArn', { value: this.digestKey.keyArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'ShipperRoleArn', { value: this.shipperRole.roleArn });

    this.suppressReviewedFindings(issuerPolicy, revocationPolicy);
  }

  /** Secrets live under one prefix, so the functions can read those and nothing else. */
  private grantSecrets(role: iam.Role, source: string): void {
    const match = /^(secretsmanager|ssm):(.+)$/.exec(source);
    if (!match) throw new Error('secretsSource must be "secretsmanager:<prefix>" or "ssm:<path prefix>"');
    const [, kind, prefix] = match as unknown as [string, string, string];
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const resource =
      kind === 'ssm'
        ? `arn:<AWS::Partition>:ssm:${region}:${account}:parameter/${prefix.replace(/^\//, '')}*`
        : `arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${prefix}*`;
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::${resource}]`,
      'Secrets are looked up by the environment variable names the config refers to, under one fixed prefix; ' +
        'nothing outside the prefix is readable.',
    );
    if (kind === 'ssm') {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSecretParameters',
          actions: ['ssm:GetParameters', 'ssm:GetParameter'],
          resources: [
            this.formatArn({
              service: 'ssm',
              resource: 'parameter',
              resourceName: `${prefix.replace(/^\//, '')}*`,
            }),
          ],
        }),
      );
    } else {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSecrets',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [
            this.formatArn({
              service: 'secretsmanager',
              resource: 'secret',
              resourceName: `${prefix}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
      );
    }
  }

  /** Every cdk-nag finding that stays, with the reason it is acceptable here. */
  private suppressReviewedFindings(issuerPolicy: iam.Policy, revocationPolicy: iam.Policy): void {
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const logicalId = (construct: Construct) => this.getLogicalId(construct.node.defaultChild as CfnElement);
    const tableIndexes = `Resource::<${logicalId(this.table)}.Arn>/index/*`;
    const schedules = `Resource::arn:<AWS::Partition>:scheduler:${region}:${account}:schedule/${SCHEDULE_GROUP_NAME}/*`;
    const tableGrant =
      'Granted by Table.grantReadWriteData: the GSIs (index/*) are part of the table, and GenerateDataKey*/ReEncrypt* ' +
      'are what DynamoDB needs from the table key to encrypt items for this role.';
    const tableFindings = [tableIndexes, 'Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'];
    for (const role of [this.issuerRole, this.transitionsRole, this.shipperRole]) {
      for (const finding of tableFindings) acknowledge(role, `AwsSolutions-IAM5[${finding}]`, tableGrant);
    }
    for (const role of [this.issuerRole, this.transitionsRole]) {
      acknowledge(
        role,
        `AwsSolutions-IAM5[${schedules}]`,
        'Schedules are created per request at run time (bg-<requestId>-<transition>); the grant is confined to the ' +
          'breakglass schedule group.',
      );
    }
    const tagged =
      'Break-glass targets live in workload accounts and are created after the broker: the statement is limited by ' +
      `the aws:ResourceTag/${TARGET_TAG_KEY} condition and aws:ResourceOrgID (the organisation, on by default) instead ` +
      'of by name, so only roles deliberately tagged as targets (by the BreakglassTargetRole construct, guarded by ' +
      'the SCP) qualify.';
    acknowledge(issuerPolicy, 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/*]', tagged);
    acknowledge(
      revocationPolicy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${REVOKER_ROLE_NAME}]`,
      tagged,
    );
    acknowledge(
      revocationPolicy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::${account}:role/*]`,
      tagged,
    );
    acknowledge(
      this.shipperRole,
      'AwsSolutions-IAM5[Resource::*]',
      'dynamodb:ListStreams (from Table.grantStreamRead) has no resource-level permissions.',
    );
    acknowledge(
      this.shipperRole,
      `AwsSolutions-IAM5[Resource::arn:aws:s3:::${this.bunkerBucket}/${this.bunkerPrefix}*]`,
      'One object per audit event under the broker prefix; the bunker bucket policy allows nothing else.',
    );
    acknowledge(
      this.shipperRole,
      `AwsSolutions-IAM5[Resource::arn:aws:kms:${this.bunkerRegion}:${this.securityAccountId}:key/*]`,
      'The bunker key lives in the security account and its id is unknown here: limited to the key aliased ' +
        'alias/breakglass-bunker (kms:ResourceAliases) and to use through S3 (kms:ViaService).',
    );
    acknowledge(
      this.schedulerRole,
      `AwsSolutions-IAM5[Resource::<${logicalId(this.functions.transition)}.Arn>:*]`,
      'Function.grantInvoke also covers the versions and aliases of the one transition function.',
    );
    for (const fn of Object.values(this.functions)) {
      acknowledge(
        fn,
        'AwsSolutions-L1',
        'nodejs22.x is the runtime the bundles are built and tested for (esbuild target node22); moving to a newer ' +
          'runtime is a deliberate change with its own test run.',
      );
    }
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the schedules.',
    );
    acknowledge(
      this.node.findChild('ShipperStreamDlq'),
      'AwsSolutions-SQS3',
      'This queue is the failure destination of the stream trigger.',
    );
    acknowledge(
      this.api,
      'AwsSolutions-APIG4',
      'The function authenticates every /v1 route with the OIDC access token (issuer, audience, algorithms checked ' +
        'by jose); /healthz, /v1/info, the web login and the signature-verified Slack endpoint must stay public.',
    );
  }
}
