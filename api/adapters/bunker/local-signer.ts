import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { AuditSigner, PublicJwk } from '../../ports/bunker.js';

interface KeyFile {
  /** The first key signs; later ones are retired keys still published so old digests keep verifying. */
  keys: Array<JWK & { kid: string }>;
}

/** ES256 audit signer backed by a P-256 key in a local file (mode 0600), generated on first use. */
export class LocalKeySigner implements AuditSigner {
  private loaded: Promise<KeyFile> | null = null;

  constructor(private readonly path: string) {}

  async keyId(): Promise<string> {
    const file = await this.load();
    return file.keys[0]!.kid;
  }

  async publicKeys(): Promise<PublicJwk[]> {
    const file = await this.load();
    return file.keys.map((key) => toPublic(key));
  }

  /** Signs with ECDSA P-256 / SHA-256 and returns the JOSE form (raw r‖s, 64 bytes). */
  async signEs256(data: Uint8Array): Promise<Uint8Array> {
    const file = await this.load();
    const key = createPrivateKey({ key: file.keys[0]! as never, format: 'jwk' });
    return new Uint8Array(sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));
  }

  private load(): Promise<KeyFile> {
    this.loaded ??= this.readOrCreate().catch((error: unknown) => {
      this.loaded = null;
      throw error;
    });
    return this.loaded;
  }

  private async readOrCreate(): Promise<KeyFile> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as KeyFile;
      if (!Array.isArray(parsed.keys) || parsed.keys.length === 0 || !parsed.keys[0]?.d) {
        throw new Error(`${this.path} holds no audit signing key`);
      }
      return parsed;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(toPublic({ ...jwk, kid: '' }));
    const file: KeyFile = { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] };
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    try {
      // `wx`: two processes starting at once must not each write a different key.
      await writeFile(this.path, `${JSON.stringify(file, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return this.readOrCreate();
      throw error;
    }
    await chmod(this.path, 0o600);
    return file;
  }
}

function toPublic(jwk: JWK & { kid: string }): PublicJwk {
  const publicJwk = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ format: 'jwk' }) as JWK;
  return {
    kty: 'EC',
    crv: 'P-256',
    x: String(publicJwk.x),
    y: String(publicJwk.y),
    kid: jwk.kid,
    alg: 'ES256',
    use: 'sig',
  };
}
