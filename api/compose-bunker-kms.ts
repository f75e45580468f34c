/**
 * The KMS digest signer with its SDK client, loaded on first use everywhere (`lazyRemoteBunker` in
 * compose-shipping.ts): even the shipper signs only when a digest is due (every `bunker.digest.everyEvents` events
 * or `everyMinutes` minutes), not on every invocation.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsSigner } from './adapters/bunker/kms-signer.js';
import type { BreakglassConfig } from './config/schema.js';
import type { AuditSigner } from './ports/bunker.js';

/** Builds the KMS signer for `keyId`, trusting the retired keys the config lists. */
export function kmsSigner(config: BreakglassConfig, keyId: string, client?: KMSClient): AuditSigner {
  return new KmsSigner({
    client: client ?? new KMSClient({ region: config.aws.region }),
    keyId,
    retiredKeyIds: config.bunker.digest.retiredKmsKeyIds ?? [],
  });
}
