/**
 * The STS side of the live adapters, imported dynamically by `liveAws`: only the API function issues credentials,
 * and the others assume the revoker role only to revoke in another account, so STS is not in their cold starts.
 */
import { STSClient } from '@aws-sdk/client-sts';
import type { CredentialIssuer } from '../../ports/aws.js';
import { StsCredentialIssuer } from './sts.js';

/** The STS client for `region`, credentials from the environment (docs/deploy.md). */
export function stsClientFor(region: string): STSClient {
  return new STSClient({ region });
}

/** The credential issuer on `client`. */
export function stsIssuer(client: STSClient): CredentialIssuer {
  return new StsCredentialIssuer(client);
}
