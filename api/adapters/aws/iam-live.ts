/** The IAM side of the live adapters, imported dynamically by `liveAws` (see lazy-iam.ts). */
import { IAMClient } from '@aws-sdk/client-iam';
import type { RolePolicies } from '../../ports/aws.js';
import { crossAccountIam } from './cross-account.js';
import { IamRolePolicies } from './iam.js';

/** IAM in the broker's own account. */
export function ownAccountIam(region: string, client?: IAMClient): RolePolicies {
  return new IamRolePolicies(client ?? new IAMClient({ region }));
}
export { crossAccountIam };
