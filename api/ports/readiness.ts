/** A readiness probe contributes a named check to `/readyz`. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string; [key: string]: unknown }>;
}
