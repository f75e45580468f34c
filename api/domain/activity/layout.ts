/**
 * The organisation trail's S3 layout: `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/
 * <account>_CloudTrail_<region>_<yyyymmdd>T<hhmm>Z_<unique>.json.gz`. The folder date and the file name's time
 * are when the file was delivered (UTC); a file holds records from any time before that. So the files that can
 * hold a grant's records are those delivered from the window's start up to its end plus the delivery delay.
 */

export interface ReadPlan {
  /** Delivery times (inclusive) of the files to read. */
  deliveredFrom: string;
  deliveredUntil: string;
  /** `<yyyy>/<mm>/<dd>/` day folders to list, in order. */
  days: string[];
}

const DAY_MS = 24 * 60 * 60_000;

function dayFolder(time: number): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/`;
}

/** The day folders and delivery times covering records made in [from, until], delivered within `delayMinutes`. */
export function readPlan(from: string, until: string, delayMinutes: number): ReadPlan {
  const start = Math.floor(Date.parse(from) / 60_000) * 60_000;
  const end = Date.parse(until) + delayMinutes * 60_000;
  const days: string[] = [];
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day <= end; day += DAY_MS) days.push(dayFolder(day));
  return { deliveredFrom: new Date(start).toISOString(), deliveredUntil: new Date(end).toISOString(), days };
}

/** `[prefix/]AWSLogs/[o-org/]` */
export function logsRoot(prefix: string, organizationId: string | null): string {
  const base = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  return `${base}AWSLogs/${organizationId ? `${organizationId}/` : ''}`;
}

/** `…/<account>/CloudTrail/` */
export function accountRoot(root: string, accountId: string): string {
  return `${root}${accountId}/CloudTrail/`;
}

const FILE_NAME =
  /(?:^|\/)(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]+\.json\.gz$/;

/** Account, region and delivery time of a log file key; null for anything else (digests, other objects). */
export function parseLogFileKey(
  key: string,
): { accountId: string; region: string; deliveredAt: string } | null {
  const match = FILE_NAME.exec(key);
  if (!match) return null;
  const [, accountId, region, y, mo, d, h, mi] = match;
  return { accountId: accountId!, region: region!, deliveredAt: `${y}-${mo}-${d}T${h}:${mi}:00.000Z` };
}

/** True when a key is a log file of the account and region delivered inside the plan's delivery times. */
export function inPlan(key: string, accountId: string, region: string, plan: ReadPlan): boolean {
  const file = parseLogFileKey(key);
  return (
    file !== null &&
    file.accountId === accountId &&
    file.region === region &&
    file.deliveredAt >= plan.deliveredFrom &&
    file.deliveredAt <= plan.deliveredUntil
  );
}
