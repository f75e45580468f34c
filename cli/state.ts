/** The login session, kept under BREAKGLASS_HOME in files only the user can read. */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type CliContext, stateDir } from './context.js';
import { usage } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8787';

export interface Session {
  server: string;
  issuer: string;
  clientId: string;
  audience: string;
  method: 'dev-user' | 'device' | 'browser';
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  email?: string;
  subject?: string;
}

/** Writes a file atomically with mode 0600 (directory 0700). */
export function writePrivateFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
}

export function sessionFile(ctx: CliContext): string {
  return join(stateDir(ctx), 'session.json');
}

export function readSession(ctx: CliContext): Session | null {
  try {
    const parsed = JSON.parse(readFileSync(sessionFile(ctx), 'utf8')) as Session;
    return typeof parsed.accessToken === 'string' && typeof parsed.server === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(ctx: CliContext, session: Session): void {
  writePrivateFile(sessionFile(ctx), `${JSON.stringify(session, null, 2)}\n`);
}

export function deleteSession(ctx: CliContext): void {
  rmSync(sessionFile(ctx), { force: true });
}

export function normaliseServer(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `--server`, then BREAKGLASS_URL, then the server of the saved login, then the local default. */
export function resolveServer(ctx: CliContext, flag?: string): string {
  const source = flag ? '--server' : ctx.env.BREAKGLASS_URL ? 'BREAKGLASS_URL' : null;
  const chosen = flag || ctx.env.BREAKGLASS_URL || readSession(ctx)?.server || DEFAULT_SERVER;
  // A typo in the address is the caller's mistake (exit 2), not a network failure (exit 1).
  if (source && !isHttpUrl(chosen)) {
    throw usage(
      `${source} "${chosen}" is not an http(s) URL`,
      "give the broker's address, e.g. --server https://breakglass.example.com",
    );
  }
  return normaliseServer(chosen);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Reads `exp` from a JWT without verifying it (the broker verifies; this only schedules a refresh). */
export function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** `GET /v1/info`: what a client needs to log in. */
export interface ServerInfo {
  version: string;
  issuer: string;
  audience: string;
  clientId: string;
  scopes: string[];
  devMode: boolean;
  simulated?: boolean;
}

/** Token lifetime from the JWT itself when possible, else from `expires_in`. */
export function expiryOf(ctx: CliContext, accessToken: string, expiresIn?: number): number {
  return jwtExpiry(accessToken) ?? ctx.now() + (expiresIn ?? 300) * 1000;
}
