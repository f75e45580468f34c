import { DomainError } from '../../domain/errors.js';
import type { ConsoleFederation, IssuedSession } from '../../ports/aws.js';
import { type Partition, partitionOf } from '../../ports/aws-errors.js';

const SIGNIN: Record<Partition, string> = {
  aws: 'https://signin.aws.amazon.com/federation',
  'aws-cn': 'https://signin.amazonaws.cn/federation',
  'aws-us-gov': 'https://signin.amazonaws-us-gov.com/federation',
};

const CONSOLE: Record<Partition, string> = {
  aws: 'console.aws.amazon.com',
  'aws-cn': 'console.amazonaws.cn',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
};

/** The federation endpoint of the role's partition. */
export function federationEndpoint(roleArn: string): string {
  return SIGNIN[partitionOf(roleArn)];
}

/** The console home page of the role's partition, in the broker's region. */
export function consoleDestination(roleArn: string, region: string): string {
  const host = CONSOLE[partitionOf(roleArn)];
  return `https://${region}.${host}/console/home?region=${encodeURIComponent(region)}`;
}

const FEDERATION_TIMEOUT_MS = 10_000;

/** The console federation endpoint (`getSigninToken`) over HTTPS, with an injectable fetch. */
export class HttpsConsoleFederation implements ConsoleFederation {
  constructor(private readonly fetchImpl: typeof fetch = globalThis.fetch) {}

  /** Exchanges session credentials for a sign-in token; neither ever reaches a log. */
  async signinToken(
    session: Pick<IssuedSession, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
    roleArn: string,
  ): Promise<string> {
    // Never `SessionDuration`: the broker's credentials are always chained (its role → target role), and
    // getSigninToken answers HTTP 400 to that combination. The console session follows the credentials (≤ 1 h).
    const query = new URLSearchParams({
      Action: 'getSigninToken',
      Session: JSON.stringify({
        sessionId: session.accessKeyId,
        sessionKey: session.secretAccessKey,
        sessionToken: session.sessionToken,
      }),
    });
    let status = 0;
    try {
      const response = await this.fetchImpl(`${federationEndpoint(roleArn)}?${query}`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(FEDERATION_TIMEOUT_MS),
      });
      status = response.status;
      if (response.ok) {
        const body = (await response.json()) as { SigninToken?: unknown };
        if (typeof body.SigninToken === 'string' && body.SigninToken.length > 0) return body.SigninToken;
      }
    } catch {
      // Network failure, timeout or a non-JSON body: reported below without the URL (it holds the secret).
    }
    throw new DomainError(
      'aws_federation_failed',
      `the AWS sign-in endpoint did not issue a console token${status ? ` (HTTP ${status})` : ''}`,
      { operation: 'federation:getSigninToken', ...(status ? { httpStatus: status } : {}) },
    );
  }

  /** `…/federation?Action=login&Issuer=…&Destination=…&SigninToken=…` */
  loginUrl(signinToken: string, roleArn: string, issuer: string, region: string): string {
    const query = new URLSearchParams({
      Action: 'login',
      Issuer: issuer,
      Destination: consoleDestination(roleArn, region),
      SigninToken: signinToken,
    });
    return `${federationEndpoint(roleArn)}?${query}`;
  }
}
