/** What the bench suites share: percentiles and real tokens from the local stack's development provider. */
import { Worker } from 'node:worker_threads';
import { exampleConfigPath, loadConfigFile } from '../api/config/load.js';
import type { BreakglassConfig } from '../api/config/schema.js';
import type { LocalStack } from '../api/local/stack.js';

/** The p-th percentile (nearest rank) of `values`; NaN when empty. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A real signed access token for a demo user. */
export async function devToken(stack: LocalStack, username: string): Promise<string> {
  const response = await fetch(`${stack.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:breakglass:params:oauth:grant-type:dev-user',
      username,
      client_id: stack.config.oidc.clientId,
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`the development provider gave no token for ${username}`);
  return body.access_token;
}

/**
 * The example config with the per-person limit far above what a suite sends (the suites measure the write
 * path, not the limiter; refused calls keep their default limit, which the flood measures). The counters are
 * in memory: the bench is one process, as `npm start` is; in Lambda they are DynamoDB items.
 */
export function benchConfig(): BreakglassConfig {
  const config = loadConfigFile(exampleConfigPath);
  return { ...config, limits: { ...config.limits, perPrincipal: 1_000_000, store: 'memory' } };
}

/**
 * An HTTP client in a worker thread, like a real client in its own process: on the broker's event loop its own
 * work would queue behind the broker's (post-commit listeners; a flood's calls) and be counted as the broker's
 * latency. The worker times each call itself, so the message passing is not counted. It is node:http on one
 * keep-alive connection, the leanest client Node has: undici's fetch spends about 0.4 ms of its own per call on
 * this VM (GET /healthz 1.19 against 0.85 ms, measured side by side), which is the client's cost, not the API's.
 */
const CLIENT_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
parentPort.on('message', ({ id, url, method, headers, body }) => {
  const started = performance.now();
  const fail = (error) => parentPort.postMessage({ id, error: String(error) });
  const sent = body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) };
  let written = started;
  const request = http.request(url, { method, headers: sent, agent }, (response) => {
    const chunks = [];
    response.on('data', (chunk) => chunks.push(chunk));
    response.on('error', fail);
    response.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const now = performance.now();
      parentPort.postMessage({ id, ms: now - started, wireMs: now - written, status: response.statusCode, text });
    });
  });
  request.on('error', fail);
  request.end(body);
  written = performance.now();
});`;

export interface HttpResult {
  /** The whole call as the client saw it, from building the request to reading the response's last byte. */
  ms: number;
  /**
   * From the request handed to the connection to the response's last byte read: the call without the client's
   * own building of the request (node:http's request object, headers and body, about 0.2 ms in an idle worker on
   * this VM), which no server can make faster.
   */
  wireMs: number;
  status: number;
  json: { id?: string; status?: string; code?: string };
}

export class WorkerHttpClient {
  private readonly worker = new Worker(CLIENT_SOURCE, { eval: true });
  private readonly pending = new Map<number, (reply: Record<string, unknown>) => void>();
  private next = 0;

  constructor(private readonly baseUrl: string) {
    this.worker.on('message', (reply: Record<string, unknown>) => {
      this.pending.get(reply.id as number)?.(reply);
      this.pending.delete(reply.id as number);
    });
  }

  async send(method: string, path: string, token?: string, body?: unknown): Promise<HttpResult> {
    const id = this.next++;
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({
        id,
        url: `${this.baseUrl}${path}`,
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    });
    if (typeof reply.error === 'string') throw new Error(`${method} ${path}: ${reply.error}`);
    const text = String(reply.text);
    let json: HttpResult['json'] = {};
    try {
      json = JSON.parse(text) as HttpResult['json'];
    } catch {
      // not JSON; callers check the status
    }
    return { ms: reply.ms as number, wireMs: reply.wireMs as number, status: reply.status as number, json };
  }

  /** A POST that must answer `expect`; returns the client-side latency and the body. */
  async post(path: string, token: string, body: unknown, expect: number): Promise<HttpResult> {
    const result = await this.send('POST', path, token, body);
    if (result.status !== expect) {
      throw new Error(`${path}: HTTP ${result.status} ${result.json.code ?? ''}, expected ${expect}`);
    }
    return result;
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
