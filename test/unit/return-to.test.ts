/**
 * Return targets after login: only same-origin relative paths survive, judged on the URL-normalised result a
 * browser would follow (issue 13: `/.//evil.example` used to come back as `Location: //evil.example`).
 */
import { describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../api/http/web/session.js';

const BASE = 'http://127.0.0.1:8787';

const hostile = [
  // dot segments that normalise to a scheme-relative `//host`
  '/.//evil.example/phish',
  '/././/evil.example',
  '/..//evil.example/phish',
  '/../..//evil.example',
  '/a/..//evil.example/phish',
  '/a/b/../..//evil.example',
  '/a/./..//evil.example',
  // percent-encoded dots
  '/%2e//evil.example/phish',
  '/%2E//evil.example',
  '/%2e%2e//evil.example',
  '/a/%2e%2e//evil.example',
  '/a/.%2e//evil.example',
  // backslashes, raw and after normalisation
  '/\\evil.example',
  '/\\/evil.example',
  '/.\\/evil.example',
  '/a/..\\\\evil.example',
  '\\\\evil.example',
  // tab, newline and carriage return (URL parsers strip them: `/\t/evil` becomes `//evil`)
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '/.\t//evil.example',
  '/a/..\n//evil.example',
  // scheme-relative and absolute
  '//evil.example',
  '///evil.example',
  '////evil.example',
  'https://evil.example/',
  'http:evil.example',
  'javascript:alert(1)',
  'data:text/html,x',
  ' /requests',
  // login routes (a loop through the identity provider)
  '/auth/callback?code=x',
  '/a/../auth/callback',
  '/%2e%2e/auth/login',
  '/AUTH/callback',
  '',
  undefined,
  `/${'a'.repeat(3000)}`,
];

describe('safeReturnTo refuses every route off our origin', () => {
  it.each(hostile.map((input) => [JSON.stringify(input), input]))('%s → /', (_label, input) => {
    expect(safeReturnTo(input, BASE)).toBe('/');
  });

  it.each([
    ['/requests/req_1?x=1', '/requests/req_1?x=1'],
    ['/requests/new?role=prod-admin', '/requests/new?role=prod-admin'],
    ['/a/../requests', '/requests'],
    ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
    // an encoded slash stays data in the path; browsers do not decode it into an authority
    ['/a/%2E./%2fevil', '/%2fevil'],
    ['/audit', '/audit'],
  ])('%s → %s (same-origin paths survive, normalised)', (input, expected) => {
    expect(safeReturnTo(input, BASE)).toBe(expected);
  });

  it('whatever survives resolves to our own origin', () => {
    for (const input of hostile) {
      const out = safeReturnTo(input, BASE);
      expect(new URL(out, BASE).origin).toBe(BASE);
      expect(out.startsWith('//') || out.includes('\\')).toBe(false);
    }
  });
});
