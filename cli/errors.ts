/** CLI failures: one line for people, one exit code for scripts. */

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  unauthenticated: 3,
  forbidden: 4,
  notFound: 5,
  conflict: 6,
  /** The server did not answer in time, or stayed 503 / 429 after the retries: try again later. */
  unavailable: 7,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: rendered as `breakglass: <message> — <hint>` and mapped to an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
    readonly hint?: string,
    /** The API problem `code` when the failure came from the broker. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (message: string, hint?: string) => new CliError(message, EXIT.usage, hint, 'usage');

export const notLoggedIn = (detail = 'not logged in') =>
  new CliError(detail, EXIT.unauthenticated, 'run `breakglass login`', 'not_logged_in');

/** The API's problem+json body. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  requestId?: string;
}

/** What the failed call was about, so a hint can name it instead of printing a placeholder. */
export interface ProblemContext {
  requestId?: string;
  /** The refused decision: approve, deny, review, … */
  action?: string;
}

type Hint = string | ((context: ProblemContext) => string);

const HINTS: Record<string, Hint> = {
  invalid_token: 'run `breakglass login`',
  self_approval: ({ action }) =>
    `another approver of the role has to ${action === 'deny' || action === 'review' ? action : 'approve'} it`,
  not_requester: 'run `breakglass roles` to see the roles you may request',
  unknown_role: 'run `breakglass roles` to see the roles you may request',
  not_approver: 'only the role’s approver groups may do this',
  mfa_required: 'log in again with multi-factor authentication: `breakglass login`',
  ticket_required: 'add --ticket with the incident ticket',
  ticket_invalid: 'check the ticket format with `breakglass roles`',
  duration_out_of_range: 'run `breakglass roles` to see each role’s maximum duration',
  dev_mode_only: 'this only works against a development server (`npm start`)',
  not_found: 'check the id with `breakglass list`',
  invalid_state: ({ requestId }) =>
    requestId
      ? `run \`breakglass status ${requestId}\` to see where it stands`
      : 'run `breakglass list` to see where it stands',
  already_approved: 'each approver counts once',
  storage_unavailable: 'the broker’s storage is briefly unavailable; run the same command again shortly',
  rate_limited: 'too many calls; wait a little and run the same command again',
  invalid_text: 'remove control, bidi or zero-width characters from the text',
};

/** Maps a problem to the documented exit code. */
export function exitCodeForProblem(problem: Problem): ExitCode {
  if (problem.code === 'unknown_role') return EXIT.notFound;
  switch (problem.status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return EXIT.usage;
    case 401:
      return EXIT.unauthenticated;
    case 403:
      return EXIT.forbidden;
    case 404:
      return EXIT.notFound;
    case 409:
      return EXIT.conflict;
    case 429:
    case 503:
      return EXIT.unavailable;
    default:
      return EXIT.error;
  }
}

/** The request id and action of an API path such as `/v1/requests/req_…/approve`. */
export function contextOfPath(path: string): ProblemContext {
  const match = /^\/v1\/requests\/(req_[0-9A-Z]{26})(?:\/([a-z-]+))?/.exec(path);
  if (!match) return {};
  return { requestId: match[1]!, ...(match[2] ? { action: match[2] } : {}) };
}

export function problemError(problem: Problem, context: ProblemContext = {}): CliError {
  const detail = (problem.detail || problem.title || `HTTP ${problem.status}`).replace(/\s+/g, ' ').trim();
  const code = problem.code ?? `http_${problem.status}`;
  const hint = HINTS[code];
  return new CliError(
    `${detail} (${code})`,
    exitCodeForProblem(problem),
    typeof hint === 'function' ? hint(context) : hint,
    code,
  );
}

/** The single stderr line for a failure. Never includes a stack trace. */
export function renderError(error: CliError): string {
  const message = error.message.replace(/\s+/g, ' ').trim();
  return `breakglass: ${message}${error.hint ? ` — ${error.hint}` : ''}\n`;
}
