/** The data bunker in the security account: a write-once S3 bucket the broker can add to but never change. */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { EVENTS_DIR } from '../../api/domain/exports/bunker-layout.js';
import { acknowledge } from './nag.js';
import { bunkerBucketName, roleArn, SHIPPER_ROLE_NAME } from './names.js';

export interface DataBunkerStackProps extends StackProps {
  /** The shared-services account whose shipper role writes events. */
  brokerAccountId: string;
  /** Object Lock COMPLIANCE default retention; cannot be shortened later, not even by root. */
  retentionDays?: number;
  /** Key prefix the broker may write under (must match `bunker.prefix`). */
  prefix?: string;
  /** Days before objects move to Glacier Instant Retrieval. */
  coldAfterDays?: number;
  /** Creates a Glue database and table so Athena can query the events. */
  athena?: boolean;
}

export class DataBunkerStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: DataBunkerStackProps) {
    super(scope, id, props);
    // Access logs reach a BucketOwnerEnforced bucket through a bucket policy, not an ACL.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const retentionDays = props.retentionDays ?? 400;
    const prefix = props.prefix ?? 'breakglass/';
    const shipper = new iam.ArnPrincipal(roleArn(props.brokerAccountId, SHIPPER_ROLE_NAME));

    this.key = new kms.Key(this, 'BunkerKey', {
      alias: 'alias/breakglass-bunker',
      description: 'Encrypts the Breakglass audit trail in the data bunker',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The shipper may encrypt new objects through S3 and nothing else; it cannot decrypt outside S3.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BrokerShipperEncryptsViaS3',
        principals: [shipper],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(retentionDays) }],
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: bunkerBucketName(this.account, this.region),
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(retentionDays)),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'bunker/',
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'colder-storage',
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(props.coldAfterDays ?? 90),
            },
          ],
        },
      ],
    });
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyDeletesAndLockChanges',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [
          's3:DeleteObject',
          's3:DeleteObjectVersion',
          's3:DeleteBucket',
          's3:PutBucketObjectLockConfiguration',
          's3:PutObjectRetention',
          's3:PutObjectLegalHold',
          's3:BypassGovernanceRetention',
        ],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );
    // Write-once for everyone: a PutObject must carry `If-None-Match: *`, so it can only create a key. Object Lock
    // keeps every version, but an overwrite would still make a new *current* version that readers see.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyOverwrites',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BrokerShipperWritesItsPrefix',
        principals: [shipper],
        // GetObject lets the shipper tell a replayed write (same bytes) from a conflict after a 412.
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'BrokerShipperNothingOutsideItsPrefix',
        effect: iam.Effect.DENY,
        principals: [shipper],
        notActions: ['s3:PutObject', 's3:GetObject'],
        resources: [this.bucket.bucketArn, this.bucket.arnForObjects('*')],
      }),
    );

    if (props.athena) {
      const database = new glue.CfnDatabase(this, 'AuditDatabase', {
        catalogId: this.account,
        databaseInput: { name: 'breakglass_audit', description: 'Breakglass audit events (data bunker)' },
      });
      const table = new glue.CfnTable(this, 'AuditEvents', {
        catalogId: this.account,
        databaseName: 'breakglass_audit',
        tableInput: {
          name: 'events',
          tableType: 'EXTERNAL_TABLE',
          parameters: { classification: 'json' },
          storageDescriptor: {
            location: `s3://${this.bucket.bucketName}/${prefix}${EVENTS_DIR}`,
            inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
            columns: [
              { name: 'seq', type: 'bigint' },
              { name: 'id', type: 'string' },
              { name: 'time', type: 'string' },
              { name: 'type', type: 'string' },
              { name: 'actor', type: 'struct<type:string,subject:string,email:string,via:string,ip:string>' },
              { name: 'requestid', type: 'string' },
              { name: 'roleid', type: 'string' },
              { name: 'accountid', type: 'string' },
              { name: 'data', type: 'string' },
              { name: 'simulated', type: 'boolean' },
              { name: 'prevhash', type: 'string' },
              { name: 'hash', type: 'string' },
            ],
          },
        },
      });
      table.node.addDependency(database);
    }

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName });
    new CfnOutput(this, 'BunkerKeyArn', { value: this.key.keyArn });

    acknowledge(
      accessLogs,
      'AwsSolutions-S1',
      'This is the access-log bucket of the bunker; logging it into itself would loop.',
    );
  }
}
