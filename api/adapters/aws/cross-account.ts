import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { RolePolicies } from '../../ports/aws.js';
import { translateAwsError } from '../../ports/aws-errors.js';
import { IamRolePolicies } from './iam.js';

/** Refresh assumed credentials this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Credentials of `arn:<partition>:iam::<account>:role/<roleName>`, assumed with the broker's own STS client and
 * reused until five minutes before they expire.
 */
export function assumedRoleCredentials(
  sts: STSClient,
  roleArn: string,
  options: { externalId?: string; now?: () => number } = {},
): () => Promise<AwsCredentialIdentity> {
  const now = options.now ?? Date.now;
  let cached: AwsCredentialIdentity | null = null;
  let pending: Promise<AwsCredentialIdentity> | null = null;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - REFRESH_MARGIN_MS > now()) return cached;
    pending ??= (async () => {
      try {
        const { Credentials } = await sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: 'breakglass-revoker',
            DurationSeconds: 900,
            // The revoker role trusts the broker only with the deployment's ExternalId (infra/lib/target-role.ts).
            ...(options.externalId ? { ExternalId: options.externalId } : {}),
          }),
        );
        if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey || !Credentials.SessionToken) {
          throw new Error(`AssumeRole of ${roleArn} returned no credentials`);
        }
        cached = {
          accessKeyId: Credentials.AccessKeyId,
          secretAccessKey: Credentials.SecretAccessKey,
          sessionToken: Credentials.SessionToken,
          ...(Credentials.Expiration ? { expiration: Credentials.Expiration } : {}),
        };
        return cached;
      } catch (error) {
        throw translateAwsError(error, 'sts:AssumeRole (revoker)');
      } finally {
        pending = null;
      }
    })();
    return pending;
  };
}

/** One IAM adapter per target account, each working through that account's revoker role. */
export function crossAccountIam(options: {
  sts: STSClient;
  region: string;
  revokerRoleName: string;
  externalId?: string;
}): (accountId: string, partition: string) => RolePolicies {
  const byAccount = new Map<string, RolePolicies>();
  return (accountId, partition) => {
    const key = `${partition}:${accountId}`;
    let adapter = byAccount.get(key);
    if (!adapter) {
      const roleArn = `arn:${partition}:iam::${accountId}:role/${options.revokerRoleName}`;
      const client = new IAMClient({
        region: options.region,
        credentials: assumedRoleCredentials(options.sts, roleArn, {
          ...(options.externalId ? { externalId: options.externalId } : {}),
        }),
      });
      adapter = new IamRolePolicies(client);
      byAccount.set(key, adapter);
    }
    return adapter;
  };
}
