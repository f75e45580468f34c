/** Turns a bearer token into a caller, or refuses it. */
import type { Caller, Channel } from '../domain/types.js';

/** A bearer token was refused. `reason` goes to the log only; callers see a uniform `invalid_token`. */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super('invalid_token');
    this.name = 'TokenRejected';
  }
}

/** The identity provider could not be reached to fetch its keys. */
export class IdentityProviderUnavailable extends Error {
  constructor(reason: string) {
    super(`identity provider unavailable: ${reason}`);
    this.name = 'IdentityProviderUnavailable';
  }
}

export interface TokenVerifier {
  verify(token: string, context: { via: Channel; ip?: string }): Promise<Caller>;
}
