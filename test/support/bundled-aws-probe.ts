/**
 * Bundled by lambda.test.ts the way the Lambda functions are (infra/bundle-lambdas.mjs), so the adapters run with
 * the SDK clients as they are deployed: without their modeled error classes. Calls IAM (query protocol) and S3
 * (REST XML) at `endpoint` and reports what the adapters made of the errors it answers.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { ownAccountIam } from '../../api/adapters/aws/iam-live.js';
import { S3Sink } from '../../api/adapters/bunker/s3-sink.js';

export async function handler(endpoint: string): Promise<Record<string, unknown>> {
  const credentials = { accessKeyId: 'AKIDPROBE', secretAccessKey: 'probe-secret' };
  const iam = ownAccountIam('us-east-1', new IAMClient({ region: 'us-east-1', endpoint, credentials }));
  const sink = new S3Sink({
    client: new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials }),
    bucket: 'bunker',
    prefix: 'trail/',
    expectedBucketOwner: '111122223333',
  });
  const settle = async (work: () => Promise<unknown>) => {
    try {
      return { value: (await work()) ?? null };
    } catch (error) {
      return { error: { code: (error as { code?: unknown }).code ?? null, name: (error as Error).name } };
    }
  };
  return {
    missingPolicy: await settle(() => iam.getRolePolicy('target', 'breakglass-revocations')),
    deniedPut: await settle(() => iam.putRolePolicy('denied', 'breakglass-revocations', '{}')),
    missingObject: await settle(() => sink.get('events/missing.json')),
    replayedPut: await settle(() => sink.put('events/present.json', '{"seq":1}')),
  };
}
