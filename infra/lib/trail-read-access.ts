/**
 * Read-only access to the organisation trail's bucket for grant activity reviews: what the broker's role may
 * do (its identity policy, added by `BrokerStack` when `cloudTrail` is set), and what the trail bucket and
 * its KMS key in the security account must allow that role (cross-account needs both sides). The bucket is
 * the organisation's, not this app's, so the second half is statements to add to its policies.
 */
import * as iam from 'aws-cdk-lib/aws-iam';

export interface TrailReadAccess {
  /** The organisation trail's bucket. */
  bucket: string;
  /** Key prefix before `AWSLogs/` (`cloudtrail.prefix`), e.g. `security/` or empty. */
  prefix?: string;
  /** The key the trail encrypts with (SSE-KMS), when it does. */
  kmsKeyArn?: string;
  /** The bucket's region (for `kms:ViaService`). */
  region: string;
}

function logsPrefix(access: TrailReadAccess): string {
  const prefix = access.prefix ?? '';
  return `${prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix}AWSLogs/`;
}

/** The broker role's side: list and read log files under `[prefix]AWSLogs/`, decrypt through S3 only. */
export function trailReaderStatements(access: TrailReadAccess): iam.PolicyStatement[] {
  const logs = logsPrefix(access);
  const statements = [
    new iam.PolicyStatement({
      sid: 'ListOrganisationTrail',
      actions: ['s3:ListBucket'],
      resources: [`arn:aws:s3:::${access.bucket}`],
      conditions: { StringLike: { 's3:prefix': [`${logs}*`] } },
    }),
    new iam.PolicyStatement({
      sid: 'ReadOrganisationTrail',
      actions: ['s3:GetObject'],
      resources: [`arn:aws:s3:::${access.bucket}/${logs}*`],
    }),
  ];
  if (access.kmsKeyArn) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptOrganisationTrail',
        actions: ['kms:Decrypt'],
        resources: [access.kmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${access.region}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}

/** The trail bucket's side (security account): the same read-only access for the broker role, nothing else. */
export function trailBucketPolicyStatements(
  access: TrailReadAccess,
  readerRoleArn: string,
): iam.PolicyStatement[] {
  const logs = logsPrefix(access);
  const reader = new iam.ArnPrincipal(readerRoleArn);
  return [
    new iam.PolicyStatement({
      sid: 'BreakglassListsTrail',
      principals: [reader],
      actions: ['s3:ListBucket'],
      resources: [`arn:aws:s3:::${access.bucket}`],
      conditions: { StringLike: { 's3:prefix': [`${logs}*`] } },
    }),
    new iam.PolicyStatement({
      sid: 'BreakglassReadsTrail',
      principals: [reader],
      actions: ['s3:GetObject'],
      resources: [`arn:aws:s3:::${access.bucket}/${logs}*`],
    }),
  ];
}
