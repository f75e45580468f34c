/** The broker's HTTP API as the CLI sees it: one JSON call, login handling and problem+json → CliError. */
import type { CliContext } from './context.js';
import { CliError, contextOfPath, EXIT, notLoggedIn, type Problem, problemError } from './errors.js';
import { normaliseServer, readSession, type ServerInfo, type Session, saveSession } from './state.js';

/** Sessions are refreshed this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;
/** One request's deadline unless BREAKGLASS_TIMEOUT (seconds) says otherwise. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** Retries of a 503 / 429 (or a timeout) for calls that are safe to repeat. */
const MAX_RETRIES = 2;
/** The longest Retry-After the CLI waits for by itself; longer ones are reported. */
const MAX_RETRY_WAIT_SECONDS = 10;

function timeoutSeconds(ctx: CliContext): number {
  const configured = Number(ctx.env.BREAKGLASS_TIMEOUT);
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_TIMEOUT_SECONDS;
}

/** The server did not answer within the deadline. */
export function timedOut(server: string, seconds: number): CliError {
  return new CliError(
    `${server} did not answer within ${seconds} s`,
    EXIT.unavailable,
    'run the same command again; set BREAKGLASS_TIMEOUT (seconds) to wait longer',
    'timeout',
  );
}

/** Calls fetch and turns network failures into one readable line. */
export async function send(
  ctx: CliContext,
  server: string,
  path: string,
  init: RequestInit,
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('x-breakglass-client', 'cli');
  headers.set('accept', headers.get('accept') ?? 'application/json');
  const seconds = timeoutSeconds(ctx);
  const deadline = AbortSignal.timeout(seconds * 1000);
  const signal = AbortSignal.any([init.signal ?? ctx.signal, deadline]);
  try {
    return await ctx.fetch(`${server}${path}`, { ...init, headers, signal });
  } catch (error) {
    if (deadline.aborted && !(init.signal ?? ctx.signal).aborted) throw timedOut(server, seconds);
    if ((error as Error).name === 'AbortError') throw new CliError('interrupted', EXIT.interrupted);
    const { cause } = error as { cause?: { code?: string; message?: string } };
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new CliError(
      `cannot reach ${server} (${reason})`,
      EXIT.error,
      'is the server running? set --server or BREAKGLASS_URL',
      'unreachable',
    );
  }
}

/** Reads a failed response as a problem document, whatever the server sent. */
export async function failure(response: Response, path = ''): Promise<CliError> {
  const text = await response.text().catch(() => '');
  // The hint can then name the request and the refused action instead of a placeholder.
  const context = contextOfPath(path);
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (body && typeof body === 'object') return problemError({ ...body, status: response.status }, context);
  } catch {
    // not JSON: fall through
  }
  return problemError(
    { status: response.status, detail: `HTTP ${response.status} ${response.statusText}` },
    context,
  );
}

export async function getInfo(ctx: CliContext, server: string): Promise<ServerInfo> {
  const response = await send(ctx, server, '/v1/info', { method: 'GET' });
  if (!response.ok) throw await failure(response);
  const info = (await response.json()) as ServerInfo;
  if (typeof info.issuer !== 'string' || typeof info.clientId !== 'string') {
    throw new CliError(`${server} does not look like a breakglass server`, EXIT.error);
  }
  return info;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/** An authenticated client bound to one server and the saved login for it. */
export class ApiClient {
  private constructor(
    private readonly ctx: CliContext,
    readonly server: string,
    private session: Session,
  ) {}

  /** Loads the saved login for `server`, refreshing it silently when it is about to expire. */
  static async connect(ctx: CliContext, server: string): Promise<ApiClient> {
    const session = readSession(ctx);
    if (!session) throw notLoggedIn();
    if (normaliseServer(session.server) !== server) {
      // A token is only ever sent to the server it was obtained for.
      throw new CliError(
        `logged in to ${session.server}, not ${server}`,
        EXIT.unauthenticated,
        `run \`breakglass login --server ${server}\``,
        'not_logged_in',
      );
    }
    const client = new ApiClient(ctx, server, session);
    if (session.expiresAt - REFRESH_MARGIN_MS <= ctx.now()) await client.refresh('your login has expired');
    return client;
  }

  get accessToken(): string {
    return this.session.accessToken;
  }

  get identity(): Session {
    return this.session;
  }

  /** Uses the refresh token, or explains that a new login is needed. */
  private async refresh(reason: string): Promise<void> {
    if (!this.session.refreshToken) throw notLoggedIn(reason);
    const { refreshTokens } = await import('./oidc.js');
    let tokens: Awaited<ReturnType<typeof refreshTokens>>;
    try {
      tokens = await refreshTokens(this.ctx, this.session);
    } catch (error) {
      if (error instanceof CliError && error.exitCode === EXIT.interrupted) throw error;
      throw notLoggedIn(`${reason} and could not be refreshed`);
    }
    this.session = {
      ...this.session,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? this.session.refreshToken,
      expiresAt: tokens.expiresAt,
    };
    saveSession(this.ctx, this.session);
  }

  /**
   * Sends one authenticated request; a 401 triggers one silent refresh and retry. A call that is safe to
   * repeat (a GET, or a POST carrying an Idempotency-Key) is retried after a 503 / 429 or a timeout, honouring
   * Retry-After; anything else reports the failure rather than risk doing it twice.
   */
  async raw(method: string, path: string, options: CallOptions = {}, retried = false): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.session.accessToken}`,
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const repeatable =
      method === 'GET' || Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key');
    let response: Response;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await send(this.ctx, this.server, path, {
          method,
          headers,
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        });
      } catch (error) {
        if (!(error instanceof CliError && error.code === 'timeout') || !repeatable || attempt >= MAX_RETRIES)
          throw error;
        continue;
      }
      if (!repeatable || attempt >= MAX_RETRIES || (response.status !== 503 && response.status !== 429))
        break;
      const wait = Number(response.headers.get('retry-after') ?? 1);
      if (!Number.isFinite(wait) || wait > MAX_RETRY_WAIT_SECONDS) break;
      await response.body?.cancel();
      await pause(Math.max(0, wait) * 1000, this.ctx.signal);
    }
    if (response.status === 401) {
      await response.body?.cancel();
      if (!retried && this.session.refreshToken) {
        await this.refresh('the server refused your login');
        return this.raw(method, path, options, true);
      }
      throw notLoggedIn('the server refused your login (expired or revoked)');
    }
    if (!response.ok) throw await failure(response, path);
    return response;
  }

  async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.raw(method, path, options);
    return (await response.json()) as T;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CliError('interrupted', EXIT.interrupted));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new CliError('interrupted', EXIT.interrupted));
      },
      { once: true },
    );
  });
}
