/** Exit codes exactly as docs/cli.md's table says (issue #14 item 4), run in-process. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/errors.js';
import { run } from '../../cli/run.js';
import { bob, harness, ID, json, loggedIn, NOW, ROLE, requestView } from './cli-harness.js';

const iso = (offsetMinutes: number) => new Date(NOW + offsetMinutes * 60_000).toISOString();

describe('status --wait: exit 0 only for a usable grant', () => {
  const settled = {
    denied: requestView({
      status: 'denied',
      denial: { by: bob, at: iso(-5), comment: 'use prod-readonly' },
    }),
    cancelled: requestView({ status: 'cancelled', cancellation: { by: bob, at: iso(-5) } }),
    revoked: requestView({
      status: 'revoked',
      startAt: iso(-30),
      endAt: iso(-1),
      revocation: { by: bob, at: iso(-1), reason: 'incident resolved' },
    }),
    expired: requestView({ status: 'expired', startAt: iso(-90), endAt: iso(-30) }),
    timed_out: requestView({ status: 'timed_out' }),
  };

  it.each(Object.entries(settled))(
    'a request already %s exits 6 with one line naming the state',
    async (state, view) => {
      const h = harness(() => json(view));
      loggedIn(h);
      expect(await run(['status', ID, '--wait'], h.ctx)).toBe(EXIT.conflict);
      expect(h.err()).toMatch(new RegExp(`^breakglass: ${ID} was ${state.replace('_', ' ')}`));
      expect(h.err().trimEnd().split('\n')).toHaveLength(1);
      // The detail is still shown, and a single GET was enough.
      expect(h.out()).toContain(`status      ${state}`);
      expect(h.calls).toHaveLength(1);
    },
  );

  it('names who denied it and why', async () => {
    const h = harness(() => json(settled.denied));
    loggedIn(h);
    await run(['status', ID, '--wait'], h.ctx);
    expect(h.err()).toBe(`breakglass: ${ID} was denied by bob@example.com: use prod-readonly\n`);
  });

  it('an active grant exits 0 and says what to run next', async () => {
    const h = harness(() => json(requestView({ status: 'active', startAt: iso(-5), endAt: iso(55) })));
    loggedIn(h);
    expect(await run(['status', ID, '--wait'], h.ctx)).toBe(EXIT.ok);
    expect(h.out()).toContain(`Next: breakglass credentials ${ID}`);
  });

  it('--json still prints the request and exits 6 for a denial', async () => {
    const h = harness(() => json(settled.denied));
    loggedIn(h);
    expect(await run(['status', ID, '--wait', '--json'], h.ctx)).toBe(EXIT.conflict);
    expect(JSON.parse(h.out())).toMatchObject({ id: ID, status: 'denied' });
  });

  it('without --wait a denied request is just shown, exit 0', async () => {
    const h = harness(() => json(settled.denied));
    loggedIn(h);
    expect(await run(['status', ID], h.ctx)).toBe(EXIT.ok);
  });
});

describe('config validate and doctor without a config file: exit 5', () => {
  it('config validate /missing.yaml is "not found", never "invalid (1 problem)"', async () => {
    const h = harness(() => json({}));
    expect(await run(['config', 'validate', '/missing.yaml'], h.ctx)).toBe(EXIT.notFound);
    expect(h.err()).toBe(
      'breakglass: config file /missing.yaml not found — run `breakglass config validate FILE` or set BREAKGLASS_CONFIG\n',
    );
  });

  it('config validate with no file and no ./breakglass.yaml exits 5', async () => {
    const h = harness(() => json({}));
    expect(await run(['config', 'validate'], h.ctx)).toBe(EXIT.notFound);
    expect(h.err()).toMatch(/^breakglass: no config file given and \.\/breakglass\.yaml does not exist/);
  });

  it('doctor with no config exits 5, with --config naming the file', async () => {
    const h = harness(() => json({}));
    expect(await run(['doctor'], h.ctx)).toBe(EXIT.notFound);
    expect(await run(['doctor', '--config', 'nope.yaml'], h.ctx)).toBe(EXIT.notFound);
    expect(h.err().split('\n')[1]).toBe(
      'breakglass: config file nope.yaml not found — pass --config FILE or set BREAKGLASS_CONFIG',
    );
  });

  it('an invalid file is still exit 1 listing its problems', async () => {
    const h = harness(() => json({}));
    writeFileSync(join(h.ctx.cwd, 'bad.yaml'), 'version: 2\n');
    expect(await run(['config', 'validate', 'bad.yaml'], h.ctx)).toBe(EXIT.error);
    expect(h.err()).toMatch(/bad\.yaml is invalid \(\d+ problems?\)/);
  });
});

describe('profile for an unknown role: exit 5 and nothing written', () => {
  it('refuses a role the caller may not request and leaves ~/.aws/config alone', async () => {
    const h = harness(() => json({ roles: [ROLE] }));
    loggedIn(h);
    const file = join(h.ctx.home, 'aws-config');
    writeFileSync(file, '[default]\nregion = eu-west-1\n');
    h.ctx.env.AWS_CONFIG_FILE = file;
    expect(await run(['profile', 'nosuch'], h.ctx)).toBe(EXIT.notFound);
    expect(h.err()).toBe(
      'breakglass: no role "nosuch" among the roles you may request; no profile was written — run `breakglass roles` (you may request: prod-admin)\n',
    );
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8')).toBe('[default]\nregion = eu-west-1\n');
    expect(await run(['profile', 'prod-admin'], h.ctx)).toBe(EXIT.ok);
    expect(readFileSync(file, 'utf8')).toContain('[profile breakglass-prod-admin]');
  });
});

describe('--server that is not a URL: a usage error', () => {
  it.each([
    ['--server', 'not-a-url'],
    ['--server', 'ftp://x'],
    ['--server', 'http://'],
  ])('%s %s exits 2 without a network call', async (flag, value) => {
    const h = harness(() => json({ roles: [] }));
    loggedIn(h);
    expect(await run(['roles', flag, value], h.ctx)).toBe(EXIT.usage);
    expect(h.err()).toBe(
      `breakglass: --server "${value}" is not an http(s) URL — give the broker's address, e.g. --server https://breakglass.example.com\n`,
    );
    expect(h.calls).toHaveLength(0);
  });

  it('a bad BREAKGLASS_URL is named as such', async () => {
    const h = harness(() => json({ roles: [] }), { BREAKGLASS_URL: 'broker.example.com' });
    expect(await run(['roles'], h.ctx)).toBe(EXIT.usage);
    expect(h.err()).toMatch(/^breakglass: BREAKGLASS_URL "broker\.example\.com" is not an http\(s\) URL/);
  });
});
