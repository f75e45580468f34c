/**
 * A bunker sink and an audit signer whose real adapter (and its SDK client) is loaded on first use. The
 * transition, sweeper and API functions build the bunker but only ship or sign on rare paths (an auditor's
 * verify or signed export; the sweeper only seals), so they do not load S3 and KMS at every cold start; the
 * shipper function, which ships on every invocation, builds the real adapters at once.
 */
import type { AuditSigner, BunkerObject, BunkerSink, PublicJwk, PutOutcome } from '../../ports/bunker.js';

/** Loads `load()` once; a failed load is tried again by the next caller. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | null = null;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = null;
      throw error;
    });
    return loading;
  };
}

/** A `BunkerSink` that loads the real one on its first call. */
export class LazySink implements BunkerSink {
  private readonly sink: () => Promise<BunkerSink>;

  constructor(
    readonly location: string,
    load: () => Promise<BunkerSink>,
  ) {
    this.sink = once(load);
  }

  async put(key: string, body: string, contentType?: string): Promise<PutOutcome> {
    return (await this.sink()).put(key, body, contentType);
  }

  async putMany(objects: BunkerObject[]): Promise<PromiseSettledResult<PutOutcome>[]> {
    const sink = await this.sink();
    if (sink.putMany) return sink.putMany(objects);
    return Promise.allSettled(objects.map((object) => sink.put(object.key, object.body, object.contentType)));
  }

  async get(key: string): Promise<string | null> {
    return (await this.sink()).get(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* (await this.sink()).list(prefix);
  }
}

/** An `AuditSigner` that loads the real one on its first call. */
export class LazySigner implements AuditSigner {
  private readonly signer: () => Promise<AuditSigner>;

  constructor(load: () => Promise<AuditSigner>) {
    this.signer = once(load);
  }

  async keyId(): Promise<string> {
    return (await this.signer()).keyId();
  }

  async publicKeys(): Promise<PublicJwk[]> {
    return (await this.signer()).publicKeys();
  }

  async signEs256(data: Uint8Array): Promise<Uint8Array> {
    return (await this.signer()).signEs256(data);
  }
}
