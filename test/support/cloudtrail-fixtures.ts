/** The CloudTrail generator (bench/fixtures) plus writers for a directory and an S3 bucket. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { TrailFile } from '../../bench/fixtures/cloudtrail-logs.js';

export * from '../../bench/fixtures/cloudtrail-logs.js';

export function writeTrailDirectory(root: string, files: TrailFile[]): void {
  for (const file of files) {
    const path = join(root, file.key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.body);
  }
}

export async function putTrailObjects(s3: S3Client, bucket: string, files: TrailFile[]): Promise<void> {
  for (const file of files) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: file.key,
        Body: file.body,
        ContentType: 'application/json',
      }),
    );
  }
}

import type { TrailCall, TrailPrincipal } from '../../bench/fixtures/cloudtrail-logs.js';

export interface GrantActivityScenario {
  /** Calls the grant made, in the order written below: exactly these must be attributed. */
  mine: TrailCall[];
  /** Calls by everyone else (same role, same person's other grant, other accounts): none may be attributed. */
  foreign: TrailCall[];
  /** Calls of the grant's own session outside [from, attributableUntil]. */
  outside: TrailCall[];
}

const minutes = (base: string, offset: number) => new Date(Date.parse(base) + offset * 60_000).toISOString();

/**
 * A grant with known activity: CLI calls with two issued keys, a console sign-in and console calls, one call
 * of every checklist kind, an AccessDenied, a call delivered late into the next hour, calls in a second region,
 * and refused calls after the end. Around it: another person on the same role in the same minutes, the same
 * person's other grant, automation without a SourceIdentity, and a session name borrowed on another account.
 * `until` is the grant's window end; `attributableUntil` the last moment its sessions live.
 */
export function grantActivityScenario(options: {
  grant: TrailPrincipal;
  secondKey: string;
  from: string;
  until: string;
  attributableUntil: string;
  region?: string;
  otherRegion?: string;
}): GrantActivityScenario {
  const { grant, from, until } = options;
  const region = options.region ?? 'us-east-1';
  const otherRegion = options.otherRegion ?? 'eu-west-1';
  const second: TrailPrincipal = { ...grant, accessKeyId: options.secondKey };
  const at = (offset: number) => minutes(from, offset);
  const after = (offset: number) => minutes(until, offset);
  const mine: TrailCall[] = [
    { who: grant, time: from, eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', region },
    {
      who: grant,
      time: at(2),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DescribeSecurityGroups',
      region,
    },
    {
      who: grant,
      time: at(3),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      region,
      requestParameters: {
        groupId: 'sg-0a1b2c3d4e5f60718',
        ipPermissions: { items: [{ ipProtocol: 'tcp' }] },
      },
    },
    {
      who: grant,
      time: at(5),
      eventSource: 'iam.amazonaws.com',
      eventName: 'PutRolePolicy',
      region,
      requestParameters: { roleName: 'app-deploy', policyName: 'hotfix' },
    },
    {
      who: grant,
      time: at(6),
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      region,
      requestParameters: { userName: 'ci-bot' },
    },
    {
      who: grant,
      time: at(8),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      region,
      errorCode: 'AccessDenied',
      requestParameters: { name: 'org-trail' },
    },
    {
      who: grant,
      time: at(10),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      region,
      console: true,
    },
    {
      who: grant,
      time: at(11),
      eventSource: 's3.amazonaws.com',
      eventName: 'PutBucketPolicy',
      region,
      console: true,
      requestParameters: { bucketName: 'app-artifacts' },
    },
    {
      who: grant,
      time: at(12),
      eventSource: 'kms.amazonaws.com',
      eventName: 'ScheduleKeyDeletion',
      region: otherRegion,
      requestParameters: { keyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd', pendingWindowInDays: 7 },
    },
    {
      who: second,
      time: at(20),
      eventSource: 's3.amazonaws.com',
      eventName: 'PutBucketPublicAccessBlock',
      region,
      requestParameters: { bucketName: 'app-artifacts' },
      // Delivered late, into the next hour's files.
      deliveryLagMinutes: 50,
    },
    {
      who: second,
      time: at(30),
      eventSource: 'organizations.amazonaws.com',
      eventName: 'AttachPolicy',
      region,
      requestParameters: { policyId: 'p-examplepolicyid111', targetId: 'ou-abcd-11111111' },
    },
    {
      who: second,
      time: at(31),
      eventSource: 'guardduty.amazonaws.com',
      eventName: 'DeleteDetector',
      region,
      requestParameters: { detectorId: '12abc34d567e8fa901bc2d34eexample' },
    },
    {
      who: second,
      time: at(32),
      eventSource: 'securityhub.amazonaws.com',
      eventName: 'DisableSecurityHub',
      region,
      requestParameters: {},
    },
    {
      who: second,
      time: at(33),
      eventSource: 'config.amazonaws.com',
      eventName: 'StopConfigurationRecorder',
      region,
      requestParameters: { configurationRecorderName: 'default' },
    },
    {
      who: second,
      time: at(34),
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateRole',
      region,
      requestParameters: { roleName: 'backdoor' },
    },
    {
      who: second,
      time: at(35),
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateUser',
      region,
      requestParameters: { userName: 'backdoor' },
    },
    {
      who: second,
      time: at(36),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'TerminateInstances',
      region,
      errorCode: 'Client.UnauthorizedOperation',
    },
    // After the end: the session policy refuses everything (GetCallerIdentity needs no permission).
    {
      who: second,
      time: after(2),
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      region,
      errorCode: 'AccessDenied',
    },
    {
      who: grant,
      time: after(3),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DescribeInstances',
      region,
      errorCode: 'Client.UnauthorizedOperation',
    },
    { who: grant, time: after(4), eventSource: 'sts.amazonaws.com', eventName: 'GetCallerIdentity', region },
    {
      who: grant,
      time: options.attributableUntil,
      eventSource: 's3.amazonaws.com',
      eventName: 'ListBuckets',
      region,
      errorCode: 'AccessDenied',
    },
  ];
  const bob: TrailPrincipal = {
    ...grant,
    roleSessionName: `bob.req_01OTHERGRANTOFBOB000000000`,
    sourceIdentity: 'bob@example.com',
    accessKeyId: 'ASIABOBBOBBOBBOB0001',
  };
  const sameUserOtherGrant: TrailPrincipal = {
    ...grant,
    roleSessionName: `${grant.roleSessionName.split('.')[0]}.req_01ALICESOTHERGRANT00000000`,
    accessKeyId: 'ASIAALICEOTHER000001',
  };
  const automation: TrailPrincipal = {
    ...grant,
    roleSessionName: 'terraform-apply',
    sourceIdentity: null,
    accessKeyId: 'ASIATERRAFORM0000001',
  };
  const otherAccount: TrailPrincipal = {
    ...grant,
    accountId: '210987654321',
    roleArn: 'arn:aws:iam::210987654321:role/breakglass-prod-admin',
    accessKeyId: 'ASIAOTHERACCOUNT0001',
  };
  const foreign: TrailCall[] = [
    {
      who: bob,
      time: at(5),
      eventSource: 'iam.amazonaws.com',
      eventName: 'PutRolePolicy',
      region,
      requestParameters: { roleName: 'app-deploy' },
    },
    { who: bob, time: at(8), eventSource: 'cloudtrail.amazonaws.com', eventName: 'DeleteTrail', region },
    {
      who: bob,
      time: at(10),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      region,
      console: true,
    },
    {
      who: bob,
      time: at(11),
      eventSource: 's3.amazonaws.com',
      eventName: 'DeleteBucketPolicy',
      region,
      console: true,
    },
    {
      who: sameUserOtherGrant,
      time: at(6),
      eventSource: 'iam.amazonaws.com',
      eventName: 'DeleteUser',
      region,
    },
    {
      who: sameUserOtherGrant,
      time: at(12),
      eventSource: 'kms.amazonaws.com',
      eventName: 'DisableKey',
      region: otherRegion,
    },
    {
      who: automation,
      time: at(7),
      eventSource: 'ec2.amazonaws.com',
      eventName: 'RevokeSecurityGroupEgress',
      region,
    },
    {
      who: otherAccount,
      time: at(9),
      eventSource: 'organizations.amazonaws.com',
      eventName: 'DetachPolicy',
      region,
    },
    {
      who: otherAccount,
      time: at(9),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      region,
      console: true,
    },
  ];
  const outside: TrailCall[] = [
    {
      who: grant,
      time: minutes(from, -1),
      eventSource: 'iam.amazonaws.com',
      eventName: 'DeleteRole',
      region,
    },
    {
      who: grant,
      time: new Date(Date.parse(options.attributableUntil) + 1000).toISOString(),
      eventSource: 'iam.amazonaws.com',
      eventName: 'DeleteAccessKey',
      region,
      errorCode: 'AccessDenied',
    },
  ];
  return { mine, foreign, outside };
}
