import { describe, expect, it } from 'vitest';
import { DomainError, ERROR_STATUS, type ErrorCode } from '../../api/domain/errors.js';

describe('DomainError', () => {
  it('maps every code to a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(code).toMatch(/^[a-z_]+$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it.each<[ErrorCode, number, boolean]>([
    ['self_approval', 403, true],
    ['not_approver', 403, true],
    ['mfa_required', 403, true],
    ['forbidden', 403, true],
    ['not_found', 404, false],
    ['invalid_state', 409, false],
    ['already_approved', 409, false],
    ['duration_out_of_range', 422, false],
    ['invalid_token', 401, false],
    ['internal', 500, false],
  ])('%s → %i, recorded as access.forbidden: %s', (code, status, forbidden) => {
    const error = new DomainError(code, 'detail', { roleId: 'prod-admin' });
    expect(error.status).toBe(status);
    expect(error.isForbidden).toBe(forbidden);
    expect(error.extra).toEqual({ roleId: 'prod-admin' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DomainError');
  });
});
