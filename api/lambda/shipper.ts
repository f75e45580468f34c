/**
 * Lambda entry point for the table's DynamoDB stream: the sealer (reserved concurrency 1). The stream is only a
 * trigger: a new journal record wakes the sealer, which chains every unsealed record it finds in the table, ships
 * the sealed events to the bunker in seq order and signs digests. A record that cannot be read is logged and
 * skipped, never retried forever, so one poison record cannot stall the trail; the periodic sweep runs the
 * sealer too, so a lost trigger delays sealing by at most one sweep. An every-minute rule also invokes it
 * without records (the heartbeat tick): it then seals, ships and writes the heartbeat digest that is due even
 * when nothing happened, so a quiet trail still proves it was not truncated.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { s3Sink } from '../compose-bunker-s3.js';
import { buildSealing, lazyRemoteBunker, type SealingParts } from '../compose-shipping.js';
import { type LambdaBroker, LambdaRuntime, metricFields } from './runtime.js';

/** What the handler needs from the sealer. */
export interface PendingShipper {
  run(): Promise<{ shipped?: { halted?: boolean } } | unknown>;
}

export type ShipperFactory = (broker: LambdaBroker<SealingParts>) => Promise<PendingShipper> | PendingShipper;

/** Audit event types counted as metrics when they pass by, so alarms see them within a minute. */
const COUNTED_EVENTS: Record<string, string> = {
  'revocation.failed': 'RevocationFailures',
  'grant.failed': 'GrantFailures',
  'schedule.failed': 'ScheduleFailures',
};

type Classified =
  | { kind: 'audit'; sequenceNumber: string; types: string[]; id: string }
  | { kind: 'other'; sequenceNumber: string }
  | { kind: 'poison'; sequenceNumber: string | null; reason: string };

/** Reads just enough of a stream record to know whether it is a newly committed journal record, and its types. */
export function classifyRecord(record: DynamoDBRecord): Classified {
  const sequenceNumber = record?.dynamodb?.SequenceNumber ?? null;
  if (!sequenceNumber) return { kind: 'poison', sequenceNumber, reason: 'no sequence number' };
  if (record.eventName !== 'INSERT') return { kind: 'other', sequenceNumber };
  const image = record.dynamodb?.NewImage;
  const sk = image?.sk?.S;
  if (typeof sk !== 'string') return { kind: 'poison', sequenceNumber, reason: 'no NewImage.sk' };
  // An unsealed entry written by a broker of the layout before journal slots (during a deploy).
  if (sk.startsWith('EVT#') && image?.gsi5pk?.S === 'UNSEALED') {
    return { kind: 'audit', sequenceNumber, types: [String(image.type?.S)], id: sk };
  }
  // A commit's events arrive as its journal record (`JOURNAL#<slot>` / `R#<n>`).
  if (!sk.startsWith('R#') || !image?.pk?.S?.startsWith('JOURNAL#')) return { kind: 'other', sequenceNumber };
  // A filler holds no events, but may let the records behind its number be sealed: it wakes the sealer too.
  if (image.filler?.BOOL) return { kind: 'audit', sequenceNumber, types: [], id: sk };
  try {
    const events = JSON.parse(image.events?.S ?? '') as { type?: unknown }[];
    if (!Array.isArray(events)) throw new Error('not a list');
    return { kind: 'audit', sequenceNumber, types: events.map((event) => String(event?.type)), id: sk };
  } catch {
    return { kind: 'poison', sequenceNumber, reason: 'journal record without readable events' };
  }
}

/** The every-minute rule's event (EventBridge), as opposed to a stream batch. */
export function isHeartbeatTick(event: unknown): boolean {
  return (event as { source?: unknown } | null)?.source === 'aws.events';
}

export function createShipperHandler(runtime: LambdaRuntime<SealingParts>, shipperFor: ShipperFactory) {
  let shipper: Promise<PendingShipper> | null = null;
  return (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> =>
    runtime.run(context, async () => {
      const tick = isHeartbeatTick(event);
      const records = (event?.Records ?? []).map(classifyRecord);
      const audit = records.filter((record) => record.kind === 'audit');
      for (const record of records) {
        if (record.kind === 'poison') {
          runtime.logger.warn(
            {
              sequenceNumber: record.sequenceNumber,
              reason: record.reason,
              ...metricFields('PoisonRecords', 1),
            },
            'stream record skipped',
          );
        }
      }
      for (const [type, metric] of Object.entries(COUNTED_EVENTS)) {
        const count = audit.reduce((sum, record) => sum + record.types.filter((t) => t === type).length, 0);
        if (count > 0)
          runtime.logger.warn({ auditType: type, ...metricFields(metric, count) }, `${type} seen`);
      }
      if (audit.length === 0 && !tick) return { batchItemFailures: [] };
      try {
        const broker = await runtime.get();
        shipper ??= Promise.resolve(shipperFor(broker)).catch((error: unknown) => {
          shipper = null;
          throw error;
        });
        const result = await (await shipper).run();
        if ((result as { shipped?: { halted?: boolean } } | undefined)?.shipped?.halted === true) {
          // The bunker holds different bytes at one of our keys: shipping stops until someone looks. Failing
          // the batch keeps the stream's iterator age growing, which is what the shipper-lag alarm watches.
          throw new Error('audit shipping is halted by a bunker conflict');
        }
        runtime.logger.info(
          { records: records.length, auditRecords: audit.length, lastId: audit.at(-1)?.id, tick, result },
          'audit sealed and shipped',
        );
        return { batchItemFailures: [] };
      } catch (error) {
        // Report the first audit record: Lambda checkpoints everything before it and retries from there.
        runtime.logger.error({ err: error, ...metricFields('ShipperFailures', 1) }, 'audit sealing failed');
        if (tick) throw error;
        return { batchItemFailures: [{ itemIdentifier: audit[0]!.sequenceNumber }] };
      }
    });
}

/**
 * S3 at once (every invocation with audit records ships), KMS on first use (a digest is signed only when one is
 * due): the signer's client and jose's key handling are not part of the cold start.
 */
const shipperBunker = { s3Sink, kmsSigner: lazyRemoteBunker.kmsSigner };

export const handler = createShipperHandler(
  new LambdaRuntime((options) => buildSealing(options, undefined, shipperBunker)),
  (broker) => broker.sealer,
);
