/**
 * The data bunker's AWS adapters: the S3 sink (`compose-bunker-s3.ts`) and the KMS signer
 * (`compose-bunker-kms.ts`), each in its own file so that a function can load one without the other. The shipper
 * builds the S3 sink at once (it ships on every invocation) and the signer on first use; everything else reaches
 * both through `lazyRemoteBunker` (compose-shipping.ts), so S3 and KMS stay out of their cold starts.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { kmsSigner } from './compose-bunker-kms.js';
import { s3Sink } from './compose-bunker-s3.js';
import type { BreakglassConfig } from './config/schema.js';
import type { AuditSigner, BunkerSink } from './ports/bunker.js';

/**
 * Makes the bunker's AWS adapters: `remoteBunker` at once, or `lazyRemoteBunker` (compose-shipping.ts) on first
 * use, for the functions that ship or sign only on rare paths.
 */
export interface RemoteBunker {
  s3Sink(config: BreakglassConfig, client?: S3Client): BunkerSink;
  kmsSigner(config: BreakglassConfig, keyId: string, client?: KMSClient): AuditSigner;
}

/** Builds the S3 sink and KMS signer at once. */
export const remoteBunker: RemoteBunker = { s3Sink, kmsSigner };
