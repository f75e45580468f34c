import { describe, expect, it } from 'vitest';
import { shellWord, upsertProfile } from '../../cli/aws-config.js';

const SETTINGS = { credential_process: 'breakglass credentials --role prod-admin' };

describe('upsertProfile keeps ~/.aws/config byte-for-byte outside the profile it owns', () => {
  it('creates the file content when there is none', () => {
    expect(upsertProfile('', 'bg', SETTINGS)).toBe(
      '[profile bg]\ncredential_process = breakglass credentials --role prod-admin\n',
    );
  });

  it('appends a new profile after a blank line, leaving everything before untouched', () => {
    const original = '# comment\n[default]\nregion = eu-west-1\n; trailing comment\n';
    const updated = upsertProfile(original, 'bg', SETTINGS);
    expect(updated).toBe(
      `${original}\n[profile bg]\ncredential_process = breakglass credentials --role prod-admin\n`,
    );
  });

  it('adds a newline when the file did not end with one', () => {
    expect(upsertProfile('[default]\nregion = x', 'bg', SETTINGS)).toBe(
      '[default]\nregion = x\n\n[profile bg]\ncredential_process = breakglass credentials --role prod-admin\n',
    );
  });

  it('replaces only our keys inside an existing profile and keeps its other keys, comments and neighbours', () => {
    const original = [
      '[profile bg]  # ours',
      'region = us-east-1',
      '# note',
      'credential_process = old',
      '',
      '[profile other]',
      'credential_process = something-else',
      '',
    ].join('\n');
    const updated = upsertProfile(original, 'bg', { ...SETTINGS, output: 'json' });
    expect(updated).toBe(
      [
        '[profile bg]  # ours',
        'region = us-east-1',
        '# note',
        'credential_process = breakglass credentials --role prod-admin',
        'output = json',
        '',
        '[profile other]',
        'credential_process = something-else',
        '',
      ].join('\n'),
    );
    expect(upsertProfile(updated, 'bg', { ...SETTINGS, output: 'json' })).toBe(updated);
  });

  it('keeps CRLF line endings and does not match a profile whose name merely starts the same', () => {
    const original = '[profile bg-old]\r\nregion = x\r\n';
    const updated = upsertProfile(original, 'bg', SETTINGS);
    expect(updated).toBe(
      `${original}\r\n[profile bg]\r\ncredential_process = breakglass credentials --role prod-admin\r\n`,
    );
  });

  it('treats [default] without the profile prefix', () => {
    expect(upsertProfile('[default]\nregion = x\n', 'default', SETTINGS)).toBe(
      '[default]\nregion = x\ncredential_process = breakglass credentials --role prod-admin\n',
    );
  });
});

describe('shellWord', () => {
  it('leaves plain words alone and quotes anything a shell would split or expand', () => {
    expect(shellWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellWord('/Users/Jane Doe/bin/node')).toBe('"/Users/Jane Doe/bin/node"');
    expect(shellWord('a$b"c')).toBe('"a\\$b\\"c"');
  });
});
