/** Stable error codes. The HTTP layer maps each to one status; tests assert on codes, never on messages. */
export const ERROR_STATUS = {
  validation_failed: 400,
  malformed_json: 400,
  login_failed: 400,
  unknown_action: 400,
  invalid_cursor: 400,
  invalid_text: 400,
  invalid_token: 401,
  login_required: 401,
  invalid_signature: 401,
  stale_request: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_requester: 403,
  not_approver: 403,
  self_approval: 403,
  mfa_required: 403,
  dev_mode_only: 403,
  not_found: 404,
  invalid_state: 409,
  already_approved: 409,
  extension_pending: 409,
  idempotency_conflict: 409,
  replayed_request: 409,
  concurrent_update: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unknown_role: 422,
  duration_out_of_range: 422,
  ticket_required: 422,
  ticket_invalid: 422,
  emergency_not_allowed: 422,
  start_out_of_range: 422,
  extension_too_long: 422,
  not_emergency: 422,
  aws_error: 502,
  // AWS grants: the caller is outside the grant's window, or AWS refused the broker (never the user's fault).
  grant_not_active: 409,
  aws_access_denied: 502,
  aws_policy_rejected: 502,
  aws_policy_too_large: 502,
  aws_region_disabled: 502,
  aws_role_not_found: 502,
  aws_conflict: 502,
  aws_federation_failed: 502,
  aws_throttled: 503,
  // Grant activity reviews: no trail configured here, or the trail bucket refused the broker.
  cloudtrail_not_configured: 409,
  cloudtrail_unreadable: 502,
  not_ready: 503,
  storage_unavailable: 503,
  /** The local broker is stopping: requests arriving on open connections during the drain. */
  shutting_down: 503,
  rate_limited: 429,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error the caller can act on: a stable code and a public, secret-free detail. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** 403s from an authenticated caller are recorded as `access.forbidden`. */
  get isForbidden(): boolean {
    return this.status === 403;
  }
}
