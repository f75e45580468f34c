/**
 * Hostile and near-miss access tokens for the authentication suite. Each one differs from a real token of the
 * development provider in exactly one property, so a 401 can only come from that property.
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import type { TestStack } from './stack.js';

/** The development provider's private signing key, as it keeps it on disk. */
export async function providerKey(stack: TestStack) {
  const file = JSON.parse(readFileSync(join(stack.dataDir, 'dev-oidc-keys.json'), 'utf8')) as {
    keys: JWK[];
  };
  const jwk = file.keys[0]!;
  return { jwk, kid: jwk.kid!, privateKey: await importJWK(jwk, 'RS256') };
}

/** Re-signs a real token's claims (with changes) under the provider's own key. */
export async function resign(
  stack: TestStack,
  realToken: string,
  changes: Partial<JWTPayload> = {},
  header: { kid?: string } = {},
): Promise<string> {
  const { kid, privateKey } = await providerKey(stack);
  const original = decodeProtectedHeader(realToken);
  return new SignJWT({ ...decodeJwt(realToken), ...changes })
    .setProtectedHeader({ alg: 'RS256', typ: original.typ ?? 'at+jwt', kid: header.kid ?? kid })
    .sign(privateKey);
}

/** The same claims signed by a key the provider never published. */
export async function signedWithUnknownKey(realToken: string, kid?: string): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  const original = decodeProtectedHeader(realToken);
  return new SignJWT(decodeJwt(realToken))
    .setProtectedHeader({ alg: 'RS256', typ: original.typ ?? 'at+jwt', kid: kid ?? 'unknown-key' })
    .sign(privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `alg: none`: the claims of a real token with no signature at all. */
export function unsignedToken(realToken: string): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(decodeJwt(realToken))}.`;
}

/**
 * The classic algorithm-confusion attack: HS256 with the provider's public key (PEM) as the HMAC secret, which a
 * verifier that trusts the token's `alg` would accept.
 */
export async function hs256WithPublicKey(stack: TestStack, realToken: string): Promise<string> {
  const { jwk, kid } = await providerKey(stack);
  const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url(decodeJwt(realToken))}`;
  const signature = createHmac('sha256', pem).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
