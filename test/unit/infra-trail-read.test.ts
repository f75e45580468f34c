/** Read-only access to the organisation trail: the broker role's side (synthesised) and the bucket's side. */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it, vi } from 'vitest';
import { exampleConfigPath } from '../../api/config/load.js';
import { BrokerStack } from '../../infra/lib/broker-stack.js';
import { trailBucketPolicyStatements } from '../../infra/lib/trail-read-access.js';

vi.setConfig({ testTimeout: 60_000 });

const TRAIL = {
  bucket: 'org-trail-logs',
  prefix: 'security',
  kmsKeyArn: 'arn:aws:kms:us-east-1:222222222222:key/abcd',
};

function statements(withTrail: boolean) {
  const stack = new BrokerStack(new App(), 'Broker', {
    env: { account: '111111111111', region: 'us-east-1' },
    configText: readFileSync(exampleConfigPath, 'utf8'),
    securityAccountId: '222222222222',
    lambdaCode: () => lambda.Code.fromInline('exports.handler = async () => ({});'),
    ...(withTrail ? { cloudTrail: TRAIL } : {}),
  });
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
        .PolicyDocument.Statement,
  );
}

describe('organisation trail read access', () => {
  it('lets the broker list and read only the trail’s log files, and decrypt them only through S3', () => {
    const all = statements(true);
    const bySid = new Map(all.map((statement) => [statement.Sid, statement]));
    expect(bySid.get('ListOrganisationTrail')).toMatchObject({
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::org-trail-logs',
      Condition: { StringLike: { 's3:prefix': ['security/AWSLogs/*'] } },
    });
    expect(bySid.get('ReadOrganisationTrail')).toMatchObject({
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::org-trail-logs/security/AWSLogs/*',
    });
    expect(bySid.get('DecryptOrganisationTrail')).toMatchObject({
      Action: 'kms:Decrypt',
      Resource: TRAIL.kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
    });
    // Read-only: no statement on the trail bucket writes or deletes anything.
    const onTrail = all.filter((statement) => JSON.stringify(statement.Resource).includes('org-trail-logs'));
    for (const statement of onTrail) {
      for (const action of [statement.Action].flat())
        expect(String(action)).toMatch(/^s3:(ListBucket|GetObject)$/);
    }
  });

  it('adds nothing when no trail is configured', () => {
    expect(statements(false).filter((s) => String(s.Sid ?? '').includes('OrganisationTrail'))).toEqual([]);
  });

  it('gives the trail bucket policy statements for the broker role, cross-account, read-only', () => {
    const stack = new Stack(new App(), 'Security', { env: { account: '222222222222', region: 'us-east-1' } });
    const bucket = new s3.Bucket(stack, 'Trail', { bucketName: 'org-trail-logs' });
    for (const statement of trailBucketPolicyStatements(
      { ...TRAIL, region: 'us-east-1' },
      'arn:aws:iam::111111111111:role/breakglass-issuer',
    )) {
      bucket.addToResourcePolicy(statement);
    }
    const policy = Object.values(Template.fromStack(stack).findResources('AWS::S3::BucketPolicy'))[0] as {
      Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } };
    };
    const mine = policy.Properties.PolicyDocument.Statement.filter((s) =>
      String(s.Sid).startsWith('Breakglass'),
    );
    expect(mine.map((s) => s.Action).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    for (const statement of mine) {
      expect(statement.Principal).toEqual({ AWS: 'arn:aws:iam::111111111111:role/breakglass-issuer' });
    }
  });
});
