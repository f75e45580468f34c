/** `audit activity ID`: what was done with a grant, from the organisation's CloudTrail. */
import { existsSync, statSync } from 'node:fs';
import type { GrantTrail } from '../../api/domain/activity/grant-trail.js';
import { parseDurationMinutes } from '../../api/domain/duration.js';
import type { CloudTrailSource } from '../../api/ports/cloudtrail.js';
import type { ActivityReport, TrailLayout } from '../../api/services/activity.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT, usage } from '../errors.js';
import { writeJson } from '../output.js';
import { connect, type GlobalOptions, requestId } from './common.js';

export interface ActivityOptions extends GlobalOptions {
  /** A directory holding `AWSLogs/`, or `s3://bucket/prefix`; the broker's configured trail when omitted. */
  cloudtrail?: string;
  deliveryDelay?: string;
  region?: string[];
}

/** Builds the source and layout for `--cloudtrail`: a local copy, or the bucket with your AWS credentials. */
async function sourceFor(
  ctx: CliContext,
  location: string,
  options: ActivityOptions,
): Promise<{ source: CloudTrailSource; layout: TrailLayout }> {
  const delay = options.deliveryDelay === undefined ? 15 : parseDurationMinutes(options.deliveryDelay);
  if (delay === null || delay < 0)
    throw usage(`--delivery-delay "${options.deliveryDelay}" is not a duration`, 'e.g. 15m');
  const layout = {
    organizationId: null,
    regions: options.region?.length ? options.region : null,
    deliveryDelayMinutes: delay,
  };
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
  if (s3) {
    const [{ S3Client }, { S3TrailSource }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('../../api/adapters/cloudtrail/s3-source.js'),
    ]);
    const client = new S3Client({ region: ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION ?? 'us-east-1' });
    return {
      source: new S3TrailSource({ client, bucket: s3[1]! }),
      layout: { ...layout, prefix: s3[2] ?? '' },
    };
  }
  if (location.startsWith('s3:')) throw usage(`--cloudtrail ${location} is not an s3://bucket/prefix URL`);
  if (!existsSync(location) || !statSync(location).isDirectory()) {
    throw new CliError(
      `--cloudtrail ${location} is not a directory`,
      EXIT.notFound,
      'give the folder that holds AWSLogs/',
    );
  }
  const { DirectoryTrailSource } = await import('../../api/adapters/cloudtrail/directory-source.js');
  return { source: new DirectoryTrailSource(location), layout: { ...layout, prefix: '' } };
}

export async function auditActivity(ctx: CliContext, id: string, options: ActivityOptions): Promise<void> {
  const requestIdValue = requestId(id);
  const client = await connect(ctx, options);
  let report: ActivityReport;
  if (options.cloudtrail) {
    const { source, layout } = await sourceFor(ctx, options.cloudtrail, options);
    // The broker decides who may look and records that they did; the trail is read here.
    const query = new URLSearchParams({ location: source.location });
    const trail = await client.json<GrantTrail>(
      'GET',
      `/v1/requests/${requestIdValue}/activity/trail?${query}`,
    );
    const { summarizeActivity } = await import('../../api/services/activity.js');
    try {
      report = await summarizeActivity(trail, source, layout, new Date(ctx.now()));
    } catch (error) {
      throw new CliError(
        `cannot read the trail at ${source.location}: ${(error as Error).message}`,
        EXIT.error,
      );
    }
  } else {
    report = await client.json<ActivityReport>('GET', `/v1/requests/${requestIdValue}/activity`);
  }
  if (options.json) {
    writeJson(ctx, report);
    return;
  }
  ctx.stdout.write(renderActivity(report));
}

const pad = (text: string, width: number) => text.padEnd(width);

/** The summary for a terminal: counts, calls after the end, then every finding with its event id. */
export function renderActivity(report: ActivityReport): string {
  const lines: string[] = [];
  lines.push(`Activity of ${report.requestId} (${report.identity.roleArn})`);
  lines.push(
    `  window        ${report.window.from} → ${report.window.to}${report.afterEnd.endedBy ? ` (${report.afterEnd.endedBy})` : ' (still active)'}`,
  );
  lines.push(
    `  identity      ${report.identity.sourceIdentity}, session ${report.identity.roleSessionName}, ${report.identity.accessKeyIds.length} issued key(s)`,
  );
  lines.push(
    `  read          ${report.source.files} log file(s), ${(report.source.bytes / 1024).toFixed(0)} KiB from ${report.source.location} (${report.source.regions.join(', ') || 'no regions'})`,
  );
  lines.push(
    `  records       ${report.records}: ${report.reads} reads, ${report.writes} writes, ${report.unclassified} other; ${report.errors} errors, ${report.accessDenied} AccessDenied`,
  );
  if (report.console.signIns > 0)
    lines.push(
      `  console       ${report.console.signIns} sign-in(s), ${report.console.calls} console call(s)`,
    );
  const services = Object.entries(report.byService).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (services.length > 0)
    lines.push(`  by service    ${services.map(([service, count]) => `${service} ${count}`).join(', ')}`);
  const after = report.afterEnd;
  if (after.refused + after.allowed > 0) {
    lines.push(
      `  after the end ${after.refused} refused, ${after.allowed} allowed${after.allowed > 0 ? '  ← the hard stop did not hold for these' : ''}`,
    );
  }
  if (!report.complete)
    lines.push('  note          log files for this grant may still arrive; look again later');
  lines.push('');
  if (report.findings.length === 0) {
    lines.push('No findings from the security checklist.');
  } else {
    lines.push(`Findings (${report.findings.length}):`);
    for (const finding of report.findings) {
      const outcome = finding.outcome === 'failed' ? `FAILED ${finding.errorCode}` : 'succeeded';
      lines.push(
        `  ${finding.time}  ${pad(finding.kind, 24)} ${pad(`${finding.eventSource.split('.')[0]}:${finding.eventName}`, 40)} ${pad(outcome, 20)} ${finding.target ?? ''}  ${finding.eventId}`.trimEnd(),
      );
    }
  }
  if (report.truncated) lines.push('(lists truncated; the counts are complete)');
  return `${lines.join('\n')}\n`;
}
