import type { MarkerStore } from '../../ports/markers.js';

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
