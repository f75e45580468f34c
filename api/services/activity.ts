/**
 * Grant activity review: what was done with a grant, read from the organisation's CloudTrail. Resolves the
 * grant's CloudTrail identity from its audit events, reads only the log files of its account, the trail's
 * regions and its window (plus the delivery delay), and summarises the records that are its own.
 */
import type { CloudTrailConfig } from '../config/schema.js';
import { isApproverFor, isAuditor, isOwnRequest } from '../domain/access.js';
import { belongsToGrant, type GrantTrail, grantTrail, trailNeedles } from '../domain/activity/grant-trail.js';
import { accountRoot, inPlan, logsRoot, readPlan } from '../domain/activity/layout.js';
import { ActivitySummarizer, type ActivitySummary } from '../domain/activity/summary.js';
import { DomainError } from '../domain/errors.js';
import { actorOf, type Caller, type CommittedEvent } from '../domain/types.js';
import type { Clock } from '../ports/clock.js';
import { CloudTrailReadError, type CloudTrailSource } from '../ports/cloudtrail.js';
import type { Logger } from '../ports/logger.js';
import type { BrokerStore } from '../ports/store.js';
import type { RequestService } from './request-service.js';

/** Where and how the trail is laid out; `CloudTrailConfig` without the adapter's own settings. */
export interface TrailLayout {
  prefix: string;
  organizationId: string | null;
  regions: string[] | null;
  deliveryDelayMinutes: number;
}

export interface ActivityReport extends ActivitySummary {
  identity: Pick<GrantTrail, 'sourceIdentity' | 'roleSessionName' | 'accessKeyIds' | 'attributableUntil'> & {
    accountId: string;
    roleArn: string;
  };
  source: { location: string; regions: string[]; files: number; bytes: number };
  /** False while log files for the grant may still arrive (before `attributableUntil` + delivery delay). */
  complete: boolean;
}

export function layoutOf(config: CloudTrailConfig): TrailLayout {
  return {
    prefix: config.kind === 's3' ? config.prefix : '',
    organizationId: config.organizationId ?? null,
    regions: config.regions ?? null,
    deliveryDelayMinutes: config.deliveryDelay,
  };
}

/** The `[prefix/]AWSLogs/[o-org/]` root that holds the account: configured, or found by listing. */
async function rootFor(source: CloudTrailSource, layout: TrailLayout, accountId: string): Promise<string> {
  const plain = logsRoot(layout.prefix, layout.organizationId);
  if (layout.organizationId) return plain;
  const folders = await source.listFolders(plain);
  if (folders.includes(`${plain}${accountId}/`)) return plain;
  for (const folder of folders.filter((f) => /\/o-[a-z0-9]+\/$/.test(f))) {
    if ((await source.listFolders(folder)).includes(`${folder}${accountId}/`)) return folder;
  }
  return plain;
}

/**
 * Reads the grant's files and summarises its records. Files are read one at a time, each streamed, so memory
 * stays flat; a record is parsed only when it contains the grant's session name or one of its key ids.
 */
export async function summarizeActivity(
  trail: GrantTrail,
  source: CloudTrailSource,
  layout: TrailLayout,
  now: Date,
): Promise<ActivityReport> {
  const root = accountRoot(await rootFor(source, layout, trail.accountId), trail.accountId);
  const regions =
    layout.regions ??
    (await source.listFolders(root)).map((folder) => folder.slice(root.length, -1)).filter(Boolean);
  const plan = readPlan(trail.window.from, trail.attributableUntil, layout.deliveryDelayMinutes);
  const needles = trailNeedles(trail);
  const summarizer = new ActivitySummarizer(trail);
  let files = 0;
  let bytes = 0;
  for (const region of regions) {
    for (const day of plan.days) {
      for await (const file of source.listFiles(`${root}${region}/${day}`)) {
        if (!inPlan(file.key, trail.accountId, region, plan)) continue;
        files += 1;
        bytes += file.size;
        for await (const record of source.readRecords(file.key, needles)) {
          if (belongsToGrant(record, trail)) summarizer.push(record);
        }
      }
    }
  }
  return {
    ...summarizer.build(),
    identity: {
      accountId: trail.accountId,
      roleArn: trail.roleArn,
      sourceIdentity: trail.sourceIdentity,
      roleSessionName: trail.roleSessionName,
      accessKeyIds: trail.accessKeyIds,
      attributableUntil: trail.attributableUntil,
    },
    source: { location: source.location, regions, files, bytes },
    complete: trail.endedBy !== null && now.toISOString() >= plan.deliveredUntil,
  };
}

export interface ActivityServiceDeps {
  requests: RequestService;
  store: Pick<BrokerStore, 'getRequest' | 'requestEvents'>;
  /** The configured trail; null when `cloudtrail` is not configured (the CLI can still read a copy). */
  source: CloudTrailSource | null;
  layout: TrailLayout | null;
  clock: Clock;
  logger: Logger;
}

/** Who may look, the `activity.viewed` record, and the summary from the configured trail. */
export class ActivityService {
  constructor(private readonly deps: ActivityServiceDeps) {}

  get configured(): boolean {
    return this.deps.source !== null && this.deps.layout !== null;
  }

  /**
   * The grant's CloudTrail identity for an auditor or an approver of its role (not its own requester: a
   * grant is not reviewed by the person who used it). Records `activity.viewed`; `reader` says who reads the
   * trail (`broker`, or `client` when the CLI reads a copy itself) and where.
   */
  async trail(caller: Caller, id: string, reader: { by: 'broker' | 'client'; location: string }) {
    const request = await this.deps.store.getRequest(id);
    if (!request) throw new DomainError('not_found', `no request ${id}`);
    await this.deps.requests.guard(
      caller,
      'activity.view',
      { requestId: id, roleId: request.roleId },
      async () => {
        const role = this.deps.requests.role(request.roleId);
        const auditor = isAuditor(this.deps.requests.config, caller);
        const approver = role !== undefined && isApproverFor(role, caller) && !isOwnRequest(request, caller);
        if (!auditor && !approver) {
          throw new DomainError(
            'forbidden',
            'only auditors and approvers of the role may review grant activity',
          );
        }
      },
    );
    const trail = grantTrail(request, await this.issuingEvents(request.id));
    await this.deps.requests.record([
      {
        type: 'activity.viewed',
        actor: actorOf(caller),
        requestId: request.id,
        roleId: request.roleId,
        accountId: request.accountId,
        data: { readBy: reader.by, location: reader.location, window: trail.window },
      },
    ]);
    return trail;
  }

  /** The summary read from the configured trail. */
  async summary(caller: Caller, id: string): Promise<ActivityReport> {
    const { source, layout } = this.deps;
    if (!source || !layout) {
      throw new DomainError(
        'cloudtrail_not_configured',
        'this broker has no `cloudtrail` source configured; read a copy with `breakglass audit activity ID --cloudtrail DIR`',
      );
    }
    const trail = await this.trail(caller, id, { by: 'broker', location: source.location });
    try {
      return await summarizeActivity(trail, source, layout, this.deps.clock.now());
    } catch (error) {
      if (!(error instanceof CloudTrailReadError)) throw error;
      this.deps.logger.error({ err: error, requestId: id }, 'cloudtrail read failed');
      throw new DomainError(
        'cloudtrail_unreadable',
        `the organisation trail at ${source.location} could not be read`,
      );
    }
  }

  /**
   * `credentials.issued` and `console.issued` of the request: from its own journal (one query of its item
   * collection, sealed or not yet sealed), never a scan of the whole chain.
   */
  private async issuingEvents(id: string): Promise<CommittedEvent[]> {
    const events = await this.deps.store.requestEvents(id, 5000);
    return events.filter((event) => event.type === 'credentials.issued' || event.type === 'console.issued');
  }
}
