/** A credential issuer loaded on first use, like IAM (lazy-iam.ts): see sts-live.ts for why. */
import type { AssumeRoleInput, CredentialIssuer, IssuedSession } from '../../ports/aws.js';

/** A `CredentialIssuer` that loads the real one on its first call; a failed load is tried again next time. */
export class LazyCredentialIssuer implements CredentialIssuer {
  private loading: Promise<CredentialIssuer> | null = null;

  constructor(private readonly load: () => Promise<CredentialIssuer>) {}

  async assumeRole(input: AssumeRoleInput): Promise<IssuedSession> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = null;
      throw error;
    });
    return (await this.loading).assumeRole(input);
  }
}
