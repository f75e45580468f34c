/** The `cloudtrail` section of breakglass.yaml: defaults, and every bad value refused by path. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, exampleConfigPath, parseConfig } from '../../api/config/load.js';
import { layoutOf } from '../../api/services/activity.js';

const example = () => parse(readFileSync(exampleConfigPath, 'utf8')) as Record<string, unknown>;

function problems(cloudtrail: unknown): string[] {
  try {
    parseConfig({ ...example(), cloudtrail }, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('cloudtrail config', () => {
  it('is optional', () => {
    expect(parseConfig(example(), 'x').cloudtrail).toBeUndefined();
  });

  it('reads an S3 trail with defaults: no prefix, regions and organisation found by listing, 15 minutes delay', () => {
    const config = parseConfig(
      { ...example(), cloudtrail: { kind: 's3', bucket: 'org-trail', expectedBucketOwner: '222222222222' } },
      'x',
    );
    expect(config.cloudtrail).toMatchObject({
      kind: 's3',
      bucket: 'org-trail',
      prefix: '',
      deliveryDelay: 15,
    });
    expect(layoutOf(config.cloudtrail!)).toEqual({
      prefix: '',
      organizationId: null,
      regions: null,
      deliveryDelayMinutes: 15,
    });
  });

  it('takes a directory, an organisation id, regions and a delivery delay', () => {
    const config = parseConfig(
      {
        ...example(),
        cloudtrail: {
          kind: 'directory',
          directory: './trail',
          organizationId: 'o-a1b2c3d4e5',
          regions: ['eu-west-1', 'us-east-1'],
          deliveryDelay: '30m',
        },
      },
      'x',
    );
    expect(layoutOf(config.cloudtrail!)).toEqual({
      prefix: '',
      organizationId: 'o-a1b2c3d4e5',
      regions: ['eu-west-1', 'us-east-1'],
      deliveryDelayMinutes: 30,
    });
  });

  it('refuses bad values, each by its path', () => {
    const found = problems({
      kind: 's3',
      bucket: 'Not_A_Bucket',
      organizationId: 'org-1',
      regions: ['mars-1'],
      expectedBucketOwner: '12',
      kmsKeyArn: 'key',
      deliveryDelay: 'soon',
    });
    for (const path of [
      'cloudtrail.bucket',
      'cloudtrail.organizationId',
      'cloudtrail.regions[0]',
      'cloudtrail.expectedBucketOwner',
      'cloudtrail.kmsKeyArn',
      'cloudtrail.deliveryDelay',
    ]) {
      expect(
        found.some((problem) => problem.startsWith(path)),
        `${path} in ${found.join('; ')}`,
      ).toBe(true);
    }
    expect(problems({ kind: 'ftp' }).some((problem) => problem.startsWith('cloudtrail'))).toBe(true);
  });
});
