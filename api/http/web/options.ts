import type { MarkerStore } from '../../ports/markers.js';
import type { BrokerStore } from '../../ports/store.js';

/** What the web pages need beyond the API's dependencies; secrets fall back to the env vars named in config. */
export interface WebOptions {
  /** The confidential client's secret; otherwise `process.env[oidc.webClientSecretEnv]`. */
  clientSecret?: string;
  /** Key material for the session cookie; otherwise `process.env[web.cookieSecretEnv]`. */
  cookieSecret?: string;
  /** Remembers logged-out session ids until their cookies would have expired anyway. */
  markers?: MarkerStore;
  /** Reads a request's committed events for its timeline. */
  requestEvents?: BrokerStore['requestEvents'];
}
