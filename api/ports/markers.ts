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
