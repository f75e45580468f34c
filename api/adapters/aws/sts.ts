import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AssumeRoleInput, CredentialIssuer, IssuedSession } from '../../ports/aws.js';
import { translateAwsError } from '../../ports/aws-errors.js';

/** Issues role sessions with `sts:AssumeRole` through an injected SDK v3 client. */
export class StsCredentialIssuer implements CredentialIssuer {
  constructor(private readonly client: STSClient) {}

  /** One AssumeRole call with source identity, session tags, external id and the session policy. */
  async assumeRole(input: AssumeRoleInput): Promise<IssuedSession> {
    try {
      const output = await this.client.send(
        new AssumeRoleCommand({
          RoleArn: input.roleArn,
          RoleSessionName: input.roleSessionName,
          SourceIdentity: input.sourceIdentity,
          Tags: input.tags,
          ...(input.externalId ? { ExternalId: input.externalId } : {}),
          Policy: input.policy,
          ...(input.policyArns.length > 0 ? { PolicyArns: input.policyArns.map((arn) => ({ arn })) } : {}),
          DurationSeconds: input.durationSeconds,
        }),
      );
      const credentials = output.Credentials;
      if (
        !credentials?.AccessKeyId ||
        !credentials.SecretAccessKey ||
        !credentials.SessionToken ||
        !credentials.Expiration
      ) {
        throw Object.assign(new Error('AssumeRole returned no credentials'), { name: 'IncompleteResponse' });
      }
      return {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        sessionToken: credentials.SessionToken,
        expiration: new Date(credentials.Expiration),
        stsRequestId: output.$metadata.requestId ?? null,
        assumedRoleArn: output.AssumedRoleUser?.Arn ?? null,
        packedPolicySize: output.PackedPolicySize ?? null,
      };
    } catch (error) {
      throw translateAwsError(error, 'sts:AssumeRole');
    }
  }
}
