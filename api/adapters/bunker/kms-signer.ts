import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { AuditSigner, PublicJwk } from '../../ports/bunker.js';

/**
 * ES256 audit signer on a KMS asymmetric key (key spec ECC_NIST_P256, usage SIGN_VERIFY). The private key never
 * leaves KMS; the broker only needs kms:Sign and kms:GetPublicKey on it.
 */
export class KmsSigner implements AuditSigner {
  private publicKey: Promise<PublicJwk> | null = null;
  private retired: Promise<PublicJwk[]> | null = null;

  constructor(
    private readonly options: {
      client: KMSClient;
      keyId: string;
      /** Keys that signed earlier digests (after a rotation): published and trusted, never used to sign. */
      retiredKeyIds?: readonly string[];
    },
  ) {}

  async keyId(): Promise<string> {
    return (await this.publicJwk()).kid;
  }

  /** The signing key first, then the retired ones, so digests signed before a rotation keep verifying. */
  async publicKeys(): Promise<PublicJwk[]> {
    this.retired ??= Promise.all(
      (this.options.retiredKeyIds ?? []).map((id) => this.fetchPublicKey(id)),
    ).catch((error: unknown) => {
      this.retired = null;
      throw error;
    });
    return [await this.publicJwk(), ...(await this.retired)];
  }

  /** KMS Sign over the SHA-256 digest (MessageType DIGEST, ECDSA_SHA_256), converted from DER to raw r‖s. */
  async signEs256(data: Uint8Array): Promise<Uint8Array> {
    const result = await this.options.client.send(
      new SignCommand({
        KeyId: this.options.keyId,
        Message: createHash('sha256').update(data).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    if (!result.Signature) throw new Error('KMS returned no signature');
    return derToJoseSignature(result.Signature, 32);
  }

  private publicJwk(): Promise<PublicJwk> {
    this.publicKey ??= this.fetchPublicKey(this.options.keyId).catch((error: unknown) => {
      this.publicKey = null;
      throw error;
    });
    return this.publicKey;
  }

  private async fetchPublicKey(keyId: string): Promise<PublicJwk> {
    const result = await this.options.client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    if (!result.PublicKey) throw new Error('KMS returned no public key');
    if (result.KeySpec && result.KeySpec !== 'ECC_NIST_P256') {
      throw new Error(`audit key ${keyId} is ${result.KeySpec}; digests need ECC_NIST_P256`);
    }
    const jwk = createPublicKey({ key: Buffer.from(result.PublicKey), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    }) as JWK;
    const base = { kty: 'EC' as const, crv: 'P-256' as const, x: String(jwk.x), y: String(jwk.y) };
    return { ...base, kid: await calculateJwkThumbprint(base), alg: 'ES256', use: 'sig' };
  }
}

/**
 * ECDSA signatures from KMS are DER: SEQUENCE { INTEGER r, INTEGER s }. JWS (RFC 7518 §3.4) wants r and s as
 * fixed-size big-endian octets, concatenated.
 */
export function derToJoseSignature(der: Uint8Array, size: number): Uint8Array {
  let offset = 0;
  const expect = (tag: number) => {
    if (der[offset] !== tag) throw new Error('not a DER ECDSA signature');
    offset += 1;
  };
  const readLength = (): number => {
    let length = der[offset++] ?? 0;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      length = 0;
      for (let i = 0; i < bytes; i++) length = (length << 8) | (der[offset++] ?? 0);
    }
    return length;
  };
  const readInteger = (): Uint8Array => {
    expect(0x02);
    const length = readLength();
    let value = der.subarray(offset, offset + length);
    offset += length;
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new Error('ECDSA integer too large');
    const padded = new Uint8Array(size);
    padded.set(value, size - value.length);
    return padded;
  };
  expect(0x30);
  readLength();
  const r = readInteger();
  const s = readInteger();
  const raw = new Uint8Array(size * 2);
  raw.set(r, 0);
  raw.set(s, size);
  return raw;
}
