import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ConfigError,
  exampleConfigPath,
  formatPath,
  loadConfigFile,
  parseConfig,
  parseConfigText,
} from '../../api/config/load.js';

const exampleText = readFileSync(exampleConfigPath, 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: tests mutate raw YAML freely to build broken configs
type Raw = any;

/** The example config as a plain object, changed by `mutate`; returns every problem reported. */
function problemsOf(mutate: (raw: Raw) => void): string[] {
  const raw = parse(exampleText) as Raw;
  mutate(raw);
  try {
    parseConfig(raw, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

function textProblems(text: string): string[] {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('the example config', () => {
  it('parses, with durations in minutes and defaults filled in', () => {
    const config = loadConfigFile(exampleConfigPath);
    expect(config.version).toBe(1);
    expect(config.defaults.pendingTimeout).toBe(120);
    const admin = config.roles.find((role) => role.id === 'prod-admin');
    expect(admin).toMatchObject({
      accountId: '123456789012',
      requesters: ['sre'],
      approvers: ['sre-leads'],
      approverUsers: [],
      approvalsRequired: 2,
      maxDuration: 240,
      defaultDuration: 60,
      ticket: { required: true, pattern: '^INC-[0-9]+$' },
      emergency: { allowed: true, postReviewWithin: 1440 },
      // Chaining out of a break-glass session is an opt-in per role.
      allowRoleChaining: false,
    });
    const readonly = config.roles.find((role) => role.id === 'prod-readonly');
    expect(readonly).toMatchObject({
      approvalsRequired: 1,
      maxDuration: 480,
      ticket: { required: false },
      emergency: { allowed: false },
    });
    expect(config.auditors).toEqual(['security']);
    expect(config.admins).toEqual(['platform-admins']);
    expect(config.oidc.requireMfa).toBe(false);
    expect(config.aws.mode).toBe('simulated');
  });

  it('parseConfigText and loadConfigFile agree', () => {
    expect(parseConfigText(exampleText)).toEqual(loadConfigFile(exampleConfigPath));
  });
});

describe('problems by path', () => {
  it.each([
    [
      'negative approvals',
      (r: Raw) => (r.roles[1].approvalsRequired = -1),
      'roles[1].approvalsRequired: must be ≥ 0',
    ],
    [
      'too many approvals',
      (r: Raw) => (r.roles[0].approvalsRequired = 11),
      'roles[0].approvalsRequired: must be ≤ 10',
    ],
    [
      'fractional approvals',
      (r: Raw) => (r.roles[0].approvalsRequired = 1.5),
      'roles[0].approvalsRequired: must be a whole number',
    ],
    [
      'approvals of the wrong type',
      (r: Raw) => (r.roles[1].approvalsRequired = 'two'),
      'roles[1].approvalsRequired: must be a number',
    ],
    ['unknown top-level key', (r: Raw) => (r.bogus = true), 'bogus: unknown key'],
    ['unknown nested key', (r: Raw) => (r.roles[0].ticket.regex = 'x'), 'roles[0].ticket.regex: unknown key'],
    ['missing maxDuration', (r: Raw) => delete r.roles[0].maxDuration, 'roles[0].maxDuration: is required'],
    ['missing oidc', (r: Raw) => delete r.oidc, 'oidc: is required'],
    ['missing issuer', (r: Raw) => delete r.oidc.issuer, 'oidc.issuer: is required'],
    [
      'bad duration 4x',
      (r: Raw) => (r.roles[0].maxDuration = '4x'),
      'roles[0].maxDuration: must be a duration',
    ],
    [
      'zero duration',
      (r: Raw) => (r.roles[0].maxDuration = '0m'),
      'roles[0].maxDuration: must be a duration',
    ],
    [
      'numeric duration',
      (r: Raw) => (r.roles[0].maxDuration = 240),
      'roles[0].maxDuration: must be a duration',
    ],
    [
      'maxDuration over the 7 days a request may last',
      (r: Raw) => (r.roles[0].maxDuration = '99d'),
      'roles[0].maxDuration: must be at most 7d',
    ],
    [
      'defaultDuration over 7 days',
      (r: Raw) => (r.roles[0].defaultDuration = '8d'),
      'roles[0].defaultDuration: must be at most 7d',
    ],
    [
      'bad pendingTimeout',
      (r: Raw) => (r.defaults.pendingTimeout = '30s'),
      'defaults.pendingTimeout: must be a duration',
    ],
    ['wrong version', (r: Raw) => (r.version = 2), 'version: must be 1'],
    [
      'allowRoleChaining as a string',
      (r: Raw) => (r.roles[0].allowRoleChaining = 'yes'),
      'roles[0].allowRoleChaining: must be true or false',
    ],
    ['no roles', (r: Raw) => (r.roles = []), 'roles: must define at least one role'],
    ['bad account id', (r: Raw) => (r.roles[0].accountId = '1234'), 'roles[0].accountId: must be a 12-digit'],
    [
      'bad role ARN',
      (r: Raw) => (r.roles[0].roleArn = 'prod-admin'),
      'roles[0].roleArn: must be an IAM role ARN',
    ],
    ['bad role id', (r: Raw) => (r.roles[0].id = 'Prod Admin'), 'roles[0].id: must be lowercase'],
    [
      'no requesters',
      (r: Raw) => (r.roles[0].requesters = []),
      'roles[0].requesters: must list at least one group',
    ],
    ['empty group name', (r: Raw) => (r.auditors = ['']), 'auditors[0]: must not be empty'],
    [
      'bad approver email',
      (r: Raw) => (r.roles[0].approverUsers = ['bob']),
      'roles[0].approverUsers[0]: must be an email',
    ],
    ['bad issuer', (r: Raw) => (r.oidc.issuer = 'not a url'), 'oidc.issuer: must be an absolute URL'],
    ['bad aws mode', (r: Raw) => (r.aws.mode = 'mock'), 'aws.mode:'],
    [
      'bad secret env name',
      (r: Raw) => (r.notifications.slack.tokenEnv = 'xoxb-123'),
      'notifications.slack.tokenEnv:',
    ],
  ])('%s', (_name, mutate, expected) => {
    const problems = problemsOf(mutate);
    expect(problems.some((problem) => problem.startsWith(expected))).toBe(true);
  });

  it('a value of the wrong type is not reported as missing', () => {
    const problems = problemsOf((r) => {
      r.roles[1].approvalsRequired = 'two';
      r.oidc.requireMfa = 'yes';
    });
    expect(problems.filter((problem) => problem.includes('is required'))).toEqual([]);
    expect(problems).toHaveLength(2);
  });

  it('a document that is not a mapping is refused at the root', () => {
    expect(textProblems('')).toEqual(['(root): must be a mapping of settings']);
    expect(textProblems('- 1\n- 2\n')).toEqual(['(root): must be a mapping of settings']);
  });
});

describe('cross-field checks', () => {
  it.each([
    [
      'duplicate role ids',
      (r: Raw) => (r.roles[1].id = 'prod-admin'),
      'roles[1].id: duplicates roles[0].id "prod-admin"',
    ],
    [
      'default above max',
      (r: Raw) => (r.roles[0].defaultDuration = '5h'),
      'roles[0].defaultDuration: must be ≤ maxDuration',
    ],
    [
      'approvals without approvers',
      (r: Raw) => {
        r.roles[1].approvers = [];
      },
      'roles[1].approvers: must list at least one group when approvalsRequired is 1',
    ],
    [
      'ARN account differs from accountId',
      (r: Raw) => (r.roles[0].accountId = '111111111111'),
      'roles[0].roleArn: account 123456789012 does not match accountId 111111111111',
    ],
    [
      'invalid ticket regex',
      (r: Raw) => (r.roles[0].ticket.pattern = '^INC-[0-9+$'),
      'roles[0].ticket.pattern: must be a valid regular expression',
    ],
    [
      'emergency without approvers',
      (r: Raw) => {
        r.roles[0].approvers = [];
        r.roles[0].approvalsRequired = 0;
      },
      'roles[0].emergency.allowed: needs approvers to carry out the mandatory post-review',
    ],
  ])('%s', (_name, mutate, expected) => {
    expect(problemsOf(mutate)).toEqual([expected]);
  });

  it('a role is `risk: normal` unless it says `high`; other values are refused by path', () => {
    const config = parseConfigText(exampleText, 'example');
    expect(config.roles.find((role) => role.id === 'prod-admin')?.risk).toBe('high');
    expect(config.roles.find((role) => role.id === 'prod-readonly')?.risk).toBe('normal');
    expect(
      problemsOf((raw) => {
        raw.roles[1].risk = 'extreme';
      }),
    ).toEqual(['roles[1].risk: must be high or normal']);
  });

  it('approverUsers alone satisfy a role that needs approvals', () => {
    const raw = parse(exampleText) as Raw;
    raw.roles[0].approvers = [];
    raw.roles[0].approverUsers = ['bob@example.com'];
    expect(parseConfig(raw).roles[0]?.approverUsers).toEqual(['bob@example.com']);
  });

  it('a role without approvals needs no approvers when emergency is off', () => {
    const raw = parse(exampleText) as Raw;
    raw.roles[1].approvers = [];
    raw.roles[1].approvalsRequired = 0;
    expect(parseConfig(raw).roles[1]?.approvalsRequired).toBe(0);
  });
});

describe('every problem at once', () => {
  it('lists field and cross-field problems of several roles together', () => {
    const problems = problemsOf((r) => {
      r.roles[1].approvalsRequired = -1;
      r.roles[1].id = 'prod-admin';
      r.roles[0].defaultDuration = '5h';
      r.roles[0].accountId = '111111111111';
      r.roles[0].maxDuration = '4x';
      r.unknownThing = 1;
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'roles[1].approvalsRequired: must be ≥ 0',
        'roles[1].id: duplicates roles[0].id "prod-admin"',
        'roles[0].roleArn: account 123456789012 does not match accountId 111111111111',
        'unknownThing: unknown key',
      ]),
    );
    expect(problems.some((p) => p.startsWith('roles[0].maxDuration: must be a duration'))).toBe(true);
    expect(problems).toHaveLength(5);
  });

  it('a missing field does not hide cross-field problems elsewhere', () => {
    const problems = problemsOf((r) => {
      delete r.roles[0].maxDuration;
      r.roles[1].id = 'prod-admin';
      r.roles[1].accountId = '111111111111';
    });
    expect(problems).toEqual([
      'roles[0].maxDuration: is required',
      'roles[1].id: duplicates roles[0].id "prod-admin"',
      'roles[1].roleArn: account 123456789012 does not match accountId 111111111111',
    ]);
  });

  it('the error message lists every problem with its source', () => {
    try {
      parseConfig({ version: 1 }, 'broken.yaml');
      expect.unreachable();
    } catch (error) {
      const configError = error as ConfigError;
      expect(configError.source).toBe('broken.yaml');
      expect(configError.problems).toEqual(['oidc: is required', 'roles: is required']);
      expect(configError.message).toContain('broken.yaml: invalid configuration');
      expect(configError.message).toContain('  - oidc: is required');
      expect(configError.message).toContain('  - roles: is required');
    }
  });
});

describe('YAML syntax errors', () => {
  it('report line and column', () => {
    const problems = textProblems('version: 1\nroles:\n  - id: a: b\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^line 3, column 9: /);
  });

  it('report duplicate keys where they are', () => {
    const problems = textProblems('version: 1\nversion: 1\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^line 2, column 1: /);
  });

  it('a tab-indented file is refused with a position', () => {
    const problems = textProblems('version: 1\noidc:\n\tissuer: x\n');
    expect(problems[0]).toMatch(/^line 3, column \d+: /);
  });
});

describe('loadConfigFile', () => {
  it('names the file and the reason when it cannot be read', () => {
    const path = join(exampleConfigPath, '..', 'does-not-exist.yaml');
    try {
      loadConfigFile(path);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).source).toBe(path);
      expect((error as ConfigError).problems).toEqual(['cannot read file: ENOENT']);
    }
  });
});

describe('formatPath', () => {
  it.each([
    [[], '(root)'],
    [['roles', 1, 'approvalsRequired'], 'roles[1].approvalsRequired'],
    [['oidc', 'issuer'], 'oidc.issuer'],
    [['auditors', 0], 'auditors[0]'],
  ])('%j → %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
