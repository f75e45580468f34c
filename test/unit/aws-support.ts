/** Unit-test harness for the AWS grant use cases: an in-memory store, a frozen clock and live adapters on mocked SDK clients. */
import { IAMClient } from '@aws-sdk/client-iam';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { liveAws } from '../../api/adapters/aws/index.js';
import { MemoryRevocationLedger, type MemoryWrite } from '../../api/adapters/memory/revocation-ledger.js';
import type { BreakglassConfig } from '../../api/config/schema.js';
import { type ChainHead, EMPTY_HEAD, sealEvent } from '../../api/domain/audit-chain.js';
import type { Outcome } from '../../api/domain/lifecycle.js';
import type { AccessRequest, AuditEvent, AuditEventDraft } from '../../api/domain/types.js';
import type { AwsAdapters } from '../../api/ports/aws.js';
import { silentLogger } from '../../api/ports/logger.js';
import {
  type BrokerStore,
  ConcurrentUpdateError,
  type Page,
  type PendingCommit,
  type RequestGuard,
  type TransactionContributor,
} from '../../api/ports/store.js';
import { GrantService } from '../../api/services/grant-service.js';
import { RequestService } from '../../api/services/request-service.js';
import { NOW } from './support.js';

/**
 * BrokerStore in memory with the same version check, chain sealing and transaction contributors as
 * DynamoStore: a commit applies its contributed writes only if every one's check passes, all at once.
 */
export class MemoryStore implements BrokerStore {
  readonly requests = new Map<string, AccessRequest>();
  readonly events: AuditEvent[] = [];
  private head: ChainHead = EMPTY_HEAD;
  private readonly contributors: TransactionContributor<MemoryWrite>[] = [];

  addContributor(contributor: TransactionContributor<MemoryWrite>) {
    this.contributors.push(contributor);
  }

  /** The contributed writes of a commit, checked up front (the caller applies them with the commit). */
  private contributions(commit: PendingCommit): MemoryWrite[] {
    const writes = this.contributors.flatMap((contributor) => contributor.writesFor(commit));
    if (!writes.every((write) => write.check())) throw new ConcurrentUpdateError('transaction');
    return writes;
  }

  async getRequest(id: string) {
    const request = this.requests.get(id);
    return request ? structuredClone(request) : null;
  }
  async createRequest(outcome: Outcome) {
    const writes = this.contributions(outcome);
    this.requests.set(outcome.request.id, structuredClone(outcome.request));
    for (const write of writes) write.apply();
    return { request: outcome.request, replayed: false, events: this.seal(outcome.events), outbox: null };
  }
  async updateRequest(expectedVersion: number, outcome: Outcome) {
    if (this.requests.get(outcome.request.id)?.version !== expectedVersion) {
      throw new ConcurrentUpdateError('request');
    }
    const writes = this.contributions(outcome);
    this.requests.set(outcome.request.id, structuredClone(outcome.request));
    for (const write of writes) write.apply();
    return { events: this.seal(outcome.events), outbox: null };
  }
  async appendEvents(events: AuditEventDraft[], _effects?: string[], guard?: RequestGuard) {
    const guarded = guard ? this.requests.get(guard.requestId) : undefined;
    if (guard && guarded?.status !== guard.status) throw new ConcurrentUpdateError('request');
    const writes = this.contributions({ request: null, events });
    if (guarded) guarded.version += 1;
    for (const write of writes) write.apply();
    return { events: this.seal(events), outbox: null };
  }
  async listRequests(): Promise<Page<AccessRequest>> {
    return { items: [...this.requests.values()], nextCursor: null };
  }
  async listDue() {
    return [];
  }
  async requestEvents(requestId: string) {
    return this.events.filter((event) => event.requestId === requestId);
  }
  async chainHead() {
    return this.head;
  }
  async *readEvents() {
    yield* this.events;
  }
  async ping() {}

  /** Commits and seals at once: unit tests have no sealer. */
  private seal(drafts: AuditEventDraft[]): AuditEvent[] {
    return drafts.map((draft) => {
      const event = sealEvent(
        { ...draft, id: `evt_${this.events.length + 1}`, time: new Date().toISOString(), simulated: false },
        this.head,
      );
      this.head = { seq: event.seq, hash: event.hash };
      this.events.push(event);
      return event;
    });
  }
}

export class FrozenClock {
  constructor(public current: Date = NOW) {}
  now() {
    return new Date(this.current);
  }
  advanceMinutes(minutes: number) {
    this.current = new Date(this.current.getTime() + minutes * 60_000);
  }
}

/** Request services of the harnesses built so far, so that `settle()` can wait for their listeners. */
const services = new Set<RequestService>();

/** Waits for the listeners the request services started after a commit (and the work those started). */
export const settle = async () => {
  await Promise.all([...services].map((service) => service.settled(5_000)));
};

export interface HarnessOptions {
  /** False: no ledger writes in the store's transactions (the listener records the entry after the commit). */
  ledgerInTransaction?: boolean;
  /** False: the revocation listener never runs, as when the process dies right after the revoke commits. */
  revocationListener?: boolean;
}

export function harness(
  config: BreakglassConfig,
  wrapAws: (aws: AwsAdapters) => AwsAdapters = (aws) => aws,
  options: HarnessOptions = {},
) {
  const clock = new FrozenClock();
  const store = new MemoryStore();
  const requests = new RequestService({ config, store, clock, logger: silentLogger });
  services.add(requests);
  const clients = {
    sts: new STSClient({ region: 'us-east-1' }),
    iam: new IAMClient({ region: 'us-east-1' }),
    scheduler: new SchedulerClient({ region: 'us-east-1' }),
  };
  const sts = mockClient(clients.sts);
  const iam = mockClient(clients.iam);
  const scheduler = mockClient(clients.scheduler);
  const fetchCalls: string[] = [];
  const fetchImpl = (async (url: string) => {
    fetchCalls.push(url);
    return new Response(JSON.stringify({ SigninToken: 'SECRET-SIGNIN-TOKEN' }), { status: 200 });
  }) as unknown as typeof fetch;
  const aws = wrapAws(liveAws(config, { ...clients, fetch: fetchImpl }));
  const ledger = new MemoryRevocationLedger();
  const grants = new GrantService({
    config,
    requests,
    store,
    aws,
    ledger,
    clock,
    logger: silentLogger,
    publicUrl: 'https://breakglass.example.com',
  });
  if (options.ledgerInTransaction !== false) store.addContributor(grants.revocationContributor(ledger));
  if (options.revocationListener !== false) requests.addListener(grants.revocationListener);
  requests.addListener(grants.schedulingListener);
  return { clock, store, requests, sts, iam, scheduler, grants, ledger, fetchCalls };
}
