import { describe, expect, it } from 'vitest';
import {
  canView,
  isAdmin,
  isApproverFor,
  isAuditor,
  isOwnRequest,
  isRequesterFor,
  requireAuditor,
  requireMfa,
} from '../../api/domain/access.js';
import { createRequest, findRole } from '../../api/domain/lifecycle.js';
import type { Caller } from '../../api/domain/types.js';
import { alice, bob, carol, codeOf, configWith, erin, NOW, pat, person } from './support.js';

const config = configWith((raw) => {
  raw.roles[1].approverUsers = ['Olga@Example.com'];
});
const admin = findRole(config, 'prod-admin')!;
const readonly = findRole(config, 'prod-readonly')!;
const sam = person('sam', ['sre']);
const olga = person('olga', []);
const lead = person('lead', ['sre', 'sre-leads']);
const everything = person('root', ['sre', 'sre-leads', 'security', 'platform-admins']);
const aliceElsewhere = person('alice', ['engineering'], { subject: 'sub-alice' });

const adminRequest = createRequest(
  config,
  alice,
  { id: 'req_a', roleId: 'prod-admin', durationMinutes: 60, reason: 'outage', ticket: 'INC-1' },
  NOW,
).request;
const readonlyRequest = createRequest(
  config,
  alice,
  { id: 'req_r', roleId: 'prod-readonly', durationMinutes: 60, reason: 'look' },
  NOW,
).request;

type Row = [name: string, caller: Caller, expected: boolean];

describe.each<[string, Row[]]>([
  [
    'isRequesterFor(prod-admin)',
    [
      ['alice (sre)', alice, true],
      ['sam (sre)', sam, true],
      ['bob (sre-leads)', bob, false],
      ['carol (auditor)', carol, false],
      ['pat (admin)', pat, false],
      ['erin (no groups)', erin, false],
      ['lead (sre + sre-leads)', lead, true],
    ],
  ],
])('%s', (_name, rows) => {
  it.each(rows)('%s → %s', (_who, caller, expected) => {
    expect(isRequesterFor(admin, caller)).toBe(expected);
  });
});

describe.each<[string, typeof admin, Row[]]>([
  [
    'prod-admin (groups only)',
    admin,
    [
      ['alice (sre)', alice, false],
      ['bob (sre-leads)', bob, true],
      ['lead (sre + sre-leads)', lead, true],
      ['carol (auditor)', carol, false],
      ['pat (admin)', pat, false],
      ['erin (no groups)', erin, false],
      ['olga (listed by email on another role)', olga, false],
    ],
  ],
  [
    'prod-readonly (groups and approverUsers)',
    readonly,
    [
      ['bob (sre-leads)', bob, true],
      ['olga (listed by email, other case)', olga, true],
      ['olga with an upper-case email', person('olga', [], { email: 'OLGA@EXAMPLE.COM' }), true],
      ['someone with a similar email', person('olga2', [], { email: 'olga@example.com.evil' }), false],
      ['erin (no groups)', erin, false],
    ],
  ],
])('isApproverFor %s', (_name, role, rows) => {
  it.each(rows)('%s → %s', (_who, caller, expected) => {
    expect(isApproverFor(role, caller)).toBe(expected);
  });
});

describe.each<[string, (caller: Caller) => boolean, Row[]]>([
  [
    'isAuditor',
    (caller) => isAuditor(config, caller),
    [
      ['carol (security)', carol, true],
      ['root (every group)', everything, true],
      ['pat (admin)', pat, false],
      ['bob (approver)', bob, false],
      ['alice (requester)', alice, false],
      ['erin (no groups)', erin, false],
    ],
  ],
  [
    'isAdmin',
    (caller) => isAdmin(config, caller),
    [
      ['pat (platform-admins)', pat, true],
      ['root (every group)', everything, true],
      ['carol (auditor)', carol, false],
      ['bob (approver)', bob, false],
      ['alice (requester)', alice, false],
      ['erin (no groups)', erin, false],
    ],
  ],
])('%s', (_name, check, rows) => {
  it.each(rows)('%s → %s', (_who, caller, expected) => {
    expect(check(caller)).toBe(expected);
  });
});

describe.each([
  [
    "canView alice's prod-admin request",
    adminRequest,
    [
      ['alice (its requester)', alice, true],
      ['alice with other groups now (same subject)', aliceElsewhere, true],
      ['bob (approver of the role)', bob, true],
      ['carol (auditor)', carol, true],
      ['pat (admin)', pat, true],
      ['sam (another requester)', sam, false],
      ['erin (no groups)', erin, false],
      ['olga (approver of another role only)', olga, false],
      [
        'alice-named impostor with another subject',
        person('mallory', ['sre'], { email: 'x@example.com' }),
        false,
      ],
    ] as Row[],
  ],
  [
    "canView alice's prod-readonly request",
    readonlyRequest,
    [
      ['olga (approver by email)', olga, true],
      ['bob (approver of the role)', bob, true],
      ['sam (another requester)', sam, false],
    ] as Row[],
  ],
])('%s', (_name, request, rows) => {
  it.each(rows)('%s → %s', (_who, caller, expected) => {
    expect(canView(config, findRole(config, request.roleId), request, caller)).toBe(expected);
  });
});

describe('canView once the role is gone from config', () => {
  it.each<Row>([
    ['alice (its requester)', alice, true],
    ['carol (auditor)', carol, true],
    ['pat (admin)', pat, true],
    ['bob (approver of the removed role)', bob, false],
  ])('%s → %s', (_who, caller, expected) => {
    expect(canView(config, undefined, adminRequest, caller)).toBe(expected);
  });
});

describe('isOwnRequest', () => {
  it('goes by subject', () => {
    expect(isOwnRequest(adminRequest, alice)).toBe(true);
    expect(isOwnRequest(adminRequest, bob)).toBe(false);
  });
});

describe('requireAuditor', () => {
  it.each<[string, Caller, string]>([
    ['carol', carol, 'none'],
    ['pat', pat, 'forbidden'],
    ['bob', bob, 'forbidden'],
    ['erin', erin, 'forbidden'],
  ])('%s → %s', (_who, caller, code) => {
    expect(codeOf(() => requireAuditor(config, caller))).toBe(code);
  });
});

describe('requireMfa', () => {
  const strict = configWith((raw) => {
    raw.oidc.requireMfa = true;
  });
  it.each([
    ['required, with MFA', strict, true, 'none'],
    ['required, without MFA', strict, false, 'mfa_required'],
    ['not required, without MFA', config, false, 'none'],
  ] as const)('%s → %s', (_name, cfg, mfa, code) => {
    expect(codeOf(() => requireMfa(cfg, { ...bob, mfa }, 'approving'))).toBe(code);
  });
});
