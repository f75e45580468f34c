import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { stream } from 'hono/streaming';
import { ChainVerifier } from '../../domain/audit-chain.js';
import { DomainError } from '../../domain/errors.js';
import { parseDigestKey } from '../../domain/exports/bunker-layout.js';
import { namesRequester } from '../../domain/exports/ocsf.js';
import { ReportBuilder } from '../../domain/exports/report.js';
import type { AuditEvent, Caller } from '../../domain/types.js';
import { eventsInRange, exportCsv, exportJsonl, exportOcsf } from '../../services/audit-export.js';
import { isContext, type RangeItem, withHistory } from '../../services/audit-history.js';
import { bunkerDigests, verifyStore } from '../../services/audit-verify.js';
import { DigestChecker } from '../../services/digest-checks.js';
import { auditJwks } from '../../services/digests.js';
import { ExportProof } from '../../services/export-proof.js';
import type { App, AppDeps, AppEnv } from '../env.js';
import { jsonResponse, problemResponses } from '../schemas.js';
import { renderAuditReport } from '../web/pages/audit-report.js';
import { AUDIT_REPORT_CSS } from '../web/report/stylesheet.js';
import type { ReportActivity, ReportActivitySection } from '../web/report/tables.js';
import type { RangeVerification } from '../web/report/verification-banner.js';

const RangeQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

const EventsQuery = RangeQuery.extend({
  format: z.enum(['jsonl', 'csv', 'ocsf']).default('jsonl'),
  /** JSONL only: sign the end-line manifest with the audit key (default true). */
  signed: z.enum(['true', 'false']).default('true'),
});

const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/audit/events',
  tags: ['audit'],
  description:
    'Streams the audit trail of a time range. `jsonl`: a boundary line, the events as stored, an end line with ' +
    'the SHA-256 of the preceding bytes and an ES256 manifest signature. `csv`: one row per request. `ocsf`: ' +
    'OCSF 1.3 records, one per line. Auditors only.',
  request: { query: EventsQuery },
  responses: {
    200: {
      description: 'The export',
      content: {
        'application/x-ndjson': { schema: z.string() },
        'text/csv': { schema: z.string() },
      },
    },
    ...problemResponses,
  },
});

const SealingSchema = z
  .object({
    unsealed: z.number().describe('Committed events the sealer has not chained yet (not in this check).'),
    oldestUnsealedAgeSeconds: z.number().nullable(),
  })
  .optional();

const VerifySchema = z
  .union([
    z.object({
      ok: z.literal(true),
      kind: z.string(),
      events: z.number(),
      firstSeq: z.number().nullable(),
      lastSeq: z.number(),
      lastHash: z.string(),
      digests: z.number().nullable(),
      unsealed: z.number().nullable().describe('Sealed events after the newest signed digest.'),
      signature: z.enum(['valid', 'unsigned']),
      keySource: z
        .string()
        .nullable()
        .describe('Where the trusted keys came from: `signing-key` (the KMS key).'),
      keyOrigin: z.string().nullable(),
      kids: z.array(z.string()),
      signedRange: z.object({ fromSeq: z.number(), toSeq: z.number() }).nullable(),
      newestDigest: z
        .object({ n: z.number(), toSeq: z.number(), time: z.string(), ageSeconds: z.number() })
        .nullable()
        .describe('The heartbeat: verification fails when it is older than `everyMinutes` plus 5 minutes.'),
      sealing: SealingSchema,
    }),
    z.object({
      ok: z.literal(false),
      kind: z.string(),
      events: z.number(),
      firstBadSeq: z.number(),
      reason: z.string(),
      detail: z.string(),
      sealing: SealingSchema,
    }),
  ])
  .openapi('VerifyResult');

const verifyRoute = createRoute({
  method: 'get',
  path: '/v1/audit/verify',
  tags: ['audit'],
  description:
    'Walks the stored hash chain up to its head and checks every signed digest in the bunker against it; ' +
    'reports the first bad seq and why, and how many committed events still wait for the sealer (and the age ' +
    'of the oldest). Auditors only.',
  responses: { 200: jsonResponse(VerifySchema, 'Verification result'), ...problemResponses },
});

const reportRoute = createRoute({
  method: 'get',
  path: '/v1/audit/report',
  tags: ['audit'],
  description: 'A printable HTML review report for a time range, with inline SVG charts. Auditors only.',
  request: { query: RangeQuery },
  responses: {
    200: { description: 'HTML report', content: { 'text/html': { schema: z.string() } } },
    ...problemResponses,
  },
});

const JwkSchema = z.object({
  kty: z.string(),
  crv: z.string(),
  x: z.string(),
  y: z.string(),
  kid: z.string(),
  alg: z.string(),
  use: z.string(),
});

const keysRoute = createRoute({
  method: 'get',
  path: '/.well-known/breakglass-audit-keys.json',
  tags: ['audit'],
  security: [],
  description: 'Public keys (JWKS) that verify the signed audit digests and export manifests.',
  responses: { 200: jsonResponse(z.object({ keys: z.array(JwkSchema) }), 'JWKS') },
});

function bunkerOf(c: Context<AppEnv>) {
  const bunker = c.get('deps').bunker;
  if (!bunker) throw new DomainError('not_ready', 'the audit bunker is not configured on this server');
  return bunker;
}

function rangeOf(query: { since?: string | undefined; until?: string | undefined }) {
  const since = query.since ? new Date(query.since).toISOString() : undefined;
  const until = query.until ? new Date(query.until).toISOString() : undefined;
  if (since && until && since >= until) {
    throw new DomainError('validation_failed', 'since must be before until');
  }
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

const FILENAMES = {
  jsonl: 'breakglass-audit.jsonl',
  csv: 'breakglass-audit.csv',
  ocsf: 'breakglass-audit.ocsf.jsonl',
};

export function registerAuditRoutes(app: App): void {
  app.openapi(eventsRoute, async (c) => {
    const query = c.req.valid('query');
    const range = rangeOf(query);
    const deps = c.get('deps');
    await deps.audit.authorize(c.get('caller'), 'audit.export');
    const bunker = bunkerOf(c);
    // Committed before the first byte: a reader who stops the download half-way has still read.
    await deps.audit.recordRead(c.get('caller'), {
      kind: 'export',
      format: query.format,
      since: range.since,
      until: range.until,
      result: 'streamed',
    });
    const events = eventsInRange(bunker.store, range);
    const signed = query.signed === 'true';
    const body =
      query.format === 'csv'
        ? exportCsv(withHistory(bunker.store, events))
        : query.format === 'ocsf'
          ? exportOcsf(withHistory(bunker.store, events, { wants: namesRequester }), deps.version)
          : exportJsonl(events, {
              ...range,
              signer: signed ? bunker.signer : null,
              proof: signed
                ? new ExportProof({
                    reader: bunker.sink,
                    keys: await auditJwks(bunker.signer),
                    readFrom: (fromSeq) => bunker.store.readEvents({ fromSeq }),
                  })
                : null,
              onRefused: (refusal) => deps.audit.recordSigningRefused(c.get('caller'), refusal, range),
              now: () => new Date(),
            });
    c.header(
      'content-type',
      query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    );
    c.header('content-disposition', `attachment; filename="${FILENAMES[query.format]}"`);
    c.header('cache-control', 'no-store');
    return stream(c, async (out) => {
      for await (const chunk of body) {
        if (out.aborted) break;
        await out.write(chunk);
      }
    }) as never;
  });

  app.openapi(verifyRoute, async (c) => {
    const deps = c.get('deps');
    await deps.audit.authorize(c.get('caller'), 'audit.verify');
    const bunker = bunkerOf(c);
    const [result, sealing] = await Promise.all([verifyLive(bunker), deps.sealing?.lag()]);
    await deps.audit.recordRead(c.get('caller'), {
      kind: 'verify',
      format: 'json',
      result: result.ok ? 'ok' : `failed: ${result.reason} at seq ${result.firstBadSeq}`,
    });
    c.header('cache-control', 'no-store');
    return c.json({ ...result, ...(sealing ? { sealing } : {}) }, 200);
  });

  app.openapi(reportRoute, async (c) => {
    const deps = c.get('deps');
    const range = rangeOf(c.req.valid('query'));
    await deps.audit.authorize(c.get('caller'), 'audit.report');
    const bunker = bunkerOf(c);
    const builder = new ReportBuilder();
    const items = withHistory(bunker.store, eventsInRange(bunker.store, range), {
      ...(range.since
        ? { activeAt: { since: range.since, lookbackMinutes: longestGrantMinutes(deps) } }
        : {}),
    });
    const verification = await verifyRange(items, builder, bunker);
    const model = builder.build({ since: range.since ?? null, until: range.until ?? null }, deps.audit.now());
    await deps.audit.recordRead(c.get('caller'), {
      kind: 'report',
      format: 'html',
      since: range.since,
      until: range.until,
      result: verification.status,
    });
    const activity = await reportActivity(deps, c.get('caller'), model.credentialsPerGrant);
    c.header('cache-control', 'no-store');
    return c.html(
      renderAuditReport(model, verification, {
        version: deps.version,
        generatedAt: deps.audit.now().toISOString(),
        activity,
      }),
      200,
    ) as never;
  });

  app.openapi(keysRoute, async (c) => {
    const bunker = bunkerOf(c);
    c.header('cache-control', 'public, max-age=300');
    return c.json(await auditJwks(bunker.signer), 200);
  });

  // Public and static: the report page's only stylesheet (the CSP allows styles from 'self' only).
  app.get('/assets/audit-report.css', (c) => {
    c.header('content-type', 'text/css; charset=utf-8');
    c.header('cache-control', 'public, max-age=3600');
    return c.body(AUDIT_REPORT_CSS);
  });
}

/** `GET /v1/audit/verify`: the store against the bunker's objects and digests, trusting only the signing key. */
async function verifyLive(bunker: Bunker) {
  const [keys, keyId, lag] = await Promise.all([
    auditJwks(bunker.signer),
    bunker.signer.keyId(),
    bunker.shipper.lag(),
  ]);
  return verifyStore(bunker.store, {
    reader: bunker.sink,
    trusted: { source: 'signing-key', origin: `kid ${keyId}`, keys },
    shippedSeq: lag.shippedSeq,
  });
}

/** Grants whose activity the report reads from the trail; more are listed as omitted. */
const REPORT_ACTIVITY_GRANTS = 25;

/** Each credential-issuing grant's CloudTrail summary (each read records `activity.viewed`). */
async function reportActivity(
  deps: AppDeps,
  caller: Caller,
  grants: Array<{ requestId: string }>,
): Promise<ReportActivitySection> {
  if (!deps.activity?.configured) return null;
  const rows: ReportActivity[] = [];
  for (const { requestId } of grants.slice(0, REPORT_ACTIVITY_GRANTS)) {
    try {
      rows.push(await deps.activity.summary(caller, requestId));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      rows.push({ requestId, error: `${error.code}: ${error.message}` });
    }
  }
  return { grants: rows, omitted: Math.max(0, grants.length - REPORT_ACTIVITY_GRANTS) };
}

/** How far before a range a grant active at its start can have begun: the longest `maxDuration`, plus slack. */
function longestGrantMinutes(deps: AppDeps): number {
  return Math.max(60, ...deps.config.roles.map((role) => role.maxDuration)) + 15;
}

type Bunker = NonNullable<AppEnv['Variables']['deps']['bunker']>;

/**
 * Feeds the report and checks the range: the chain is walked from the range's first event past its end up to
 * the end of the first signed digest that covers it (a digest signs the hash of its last event, which commits
 * to every event before it), and every digest in the bunker is checked against the broker's own signing key.
 * `status` is `verified` only when that walk reached a signed digest; earlier history used to complete the
 * rows (context) is not part of this check, and the report says so.
 */
async function verifyRange(
  items: AsyncIterable<RangeItem>,
  builder: ReportBuilder,
  bunker: Bunker,
): Promise<RangeVerification> {
  const digests = new DigestChecker();
  const digestList = await bunkerDigests(bunker.sink);
  const [keyId, keys] = await Promise.all([bunker.signer.keyId(), auditJwks(bunker.signer)]);
  const digestProblem = await digests.load(digestList, keys);
  const signedEnds = digestList
    .map(({ key }) => parseDigestKey(key)?.toSeq ?? Number.NaN)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const keySource = `the broker's signing key (kid ${keyId})`;
  let chain: ChainVerifier | null = null;
  let contextEvents = 0;
  let broken: Extract<RangeVerification, { status: 'failed' }> | null = digestProblem
    ? { status: 'failed', ...digestProblem, events: 0, digests: 0, keySource }
    : null;
  const check = (event: AuditEvent) => {
    if (broken) return;
    chain ??= new ChainVerifier({ seq: event.seq - 1, hash: event.prevHash });
    if (!chain.push(event)) {
      const failure = chain.result();
      if (!failure.ok) broken = { status: 'failed', ...failure, digests: 0, keySource };
      return;
    }
    if (!digests.push(event)) {
      const failure = digests.finish({ allowUnsealedTail: true });
      if (failure)
        broken = { status: 'failed', ...failure, events: chain.result().events, digests: 0, keySource };
    }
  };
  for await (const item of items) {
    if (isContext(item)) {
      contextEvents += 1;
      builder.push(item.context, true);
      continue;
    }
    builder.push(item);
    check(item);
  }
  const inRange = (chain as ChainVerifier | null)?.result();
  const rangeLast = inRange?.ok ? inRange.lastSeq : null;
  // Walk on past the range to the end of the digest that covers its last event.
  const coveredBy = rangeLast === null ? undefined : signedEnds.find((end) => end >= rangeLast);
  if (!broken && rangeLast !== null && coveredBy !== undefined && coveredBy > rangeLast) {
    for await (const event of bunker.store.readEvents({ fromSeq: rangeLast + 1 })) {
      check(event);
      if (broken || event.seq >= coveredBy) break;
    }
  }
  if (broken) return broken;
  return {
    status: rangeLast !== null && coveredBy !== undefined ? 'verified' : 'unsigned',
    events: inRange?.ok ? inRange.events : 0,
    firstSeq: inRange?.ok ? inRange.firstSeq : null,
    lastSeq: rangeLast,
    lastHash: inRange?.ok ? inRange.lastHash : null,
    digests: digests.count,
    coveredBySeq: coveredBy ?? null,
    lastDigestSeq: digests.lastDigestSeq,
    keySource,
    contextEvents,
  };
}
