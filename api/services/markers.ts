/**
 * Small, short-lived facts kept beside the broker's data: "this Slack signature was already seen", "this web
 * session was logged out", "request X's Slack message is at channel/ts". Each expires on its own.
 */
export interface MarkerStore {
  /** Writes the marker only if no live one exists; false when it was already there (a replay). */
  claim(kind: string, id: string, ttlSeconds: number, value?: Record<string, string>): Promise<boolean>;
  /** Writes or overwrites the marker. */
  put(kind: string, id: string, ttlSeconds: number, value?: Record<string, string>): Promise<void>;
  /** The marker's value while it is live; null when absent or expired. */
  get(kind: string, id: string): Promise<Record<string, string> | null>;
}

/** In-memory twin for unit tests and single-process tools. */
export class MemoryMarkers implements MarkerStore {
  private readonly items = new Map<string, { until: number; value: Record<string, string> }>();

  constructor(private readonly now: () => number = Date.now) {}

  async claim(kind: string, id: string, ttlSeconds: number, value: Record<string, string> = {}) {
    if (await this.get(kind, id)) return false;
    await this.put(kind, id, ttlSeconds, value);
    return true;
  }

  async put(kind: string, id: string, ttlSeconds: number, value: Record<string, string> = {}) {
    this.items.set(`${kind}#${id}`, { until: this.now() + ttlSeconds * 1000, value: { ...value } });
  }

  async get(kind: string, id: string) {
    const item = this.items.get(`${kind}#${id}`);
    return item && item.until > this.now() ? { ...item.value } : null;
  }
}
