/**
 * Evaluates every guardrail SCP with an IAM policy simulator: what an ordinary admin may not do, each way an
 * account admin could try to obtain an exemption, and the legitimate path that must keep working.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { guardrailOptions } from '../../infra/bin/app.js';
import {
  type GuardrailOptions,
  guardrailPolicies,
  renderGuardrail,
  SCP_SIZE_LIMIT,
} from '../../infra/lib/guardrails.js';

const GUARDRAILS = join(import.meta.dirname, '..', '..', 'infra', 'guardrails');
const OTHER = '999999999999';
const WORKLOAD = '123456789012';
const BROKER = '111111111111';
const ADMIN = `arn:aws:iam::${WORKLOAD}:role/Admin`;
const DEPLOY = `arn:aws:iam::${WORKLOAD}:role/breakglass-deploy`;
const CDK_EXEC = `arn:aws:iam::${WORKLOAD}:role/cdk-hnb659fds-cfn-exec-role-${WORKLOAD}-us-east-1`;
const REVOKER = `arn:aws:iam::${WORKLOAD}:role/breakglass-revoker`;
const ISSUER = `arn:aws:iam::${BROKER}:role/breakglass-issuer`;
const TARGET = `arn:aws:iam::${WORKLOAD}:role/breakglass-prod-admin`;
const BROKER_TARGET = `arn:aws:iam::${BROKER}:role/breakglass-shared-admin`;
const ADMINISTRATOR_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

const OPTIONS: GuardrailOptions = {
  brokerAccountId: BROKER,
  workloadAccountIds: [WORKLOAD],
  allowedRegions: ['us-east-1', 'eu-west-1'],
};
let current = guardrailPolicies(OPTIONS);

function scp(name: string): unknown {
  return current[name as keyof typeof current];
}

/** The decision for one call by a principal with AdministratorAccess, under FullAWSAccess plus one guardrail. */
async function decide(
  guardrail: string,
  request: {
    principal: string;
    action: string;
    resource: string;
    context?: Record<string, string | string[]>;
  },
): Promise<string> {
  const account = /:(\d{12}):/.exec(request.principal)?.[1] ?? WORKLOAD;
  const result = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: {
          resource: request.resource,
          accountId: /:(\d{12}):/.exec(request.resource)?.[1] ?? account,
        },
        // AWS sets aws:PrincipalArn on every request; the simulator wants it spelled out.
        contextVariables: {
          'aws:RequestedRegion': 'us-east-1',
          'aws:PrincipalArn': request.principal,
          ...request.context,
        },
      },
      identityPolicies: [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }],
      serviceControlPolicies: [
        {
          orgIdentifier: 'r-root',
          policies: [
            { name: 'FullAWSAccess', policy: ADMINISTRATOR_ACCESS },
            { name: guardrail, policy: scp(guardrail) },
          ],
        },
      ],
      resourceControlPolicies: [],
    },
    {},
  );
  if (!('overallResult' in result)) throw new Error(`simulation failed: ${JSON.stringify(result)}`);
  return result.overallResult;
}

describe('guardrail SCPs', () => {
  it('infra/guardrails/ holds exactly what the builder renders for the example accounts', () => {
    const files = readdirSync(GUARDRAILS).filter((file) => file.endsWith('.json'));
    const rendered = guardrailPolicies(guardrailOptions({}));
    expect(files.sort()).toEqual(Object.keys(rendered).map((name) => `${name}.json`));
    for (const [name, policy] of Object.entries(rendered)) {
      // Same document (the files are formatted by Biome, so compared parsed).
      expect(JSON.parse(readFileSync(join(GUARDRAILS, `${name}.json`), 'utf8'))).toEqual(
        JSON.parse(renderGuardrail(policy)),
      );
      expect(policy.Version).toBe('2012-10-17');
      for (const statement of policy.Statement) expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
    }
  });

  it('name exempt principals only by full ARN, never with an account or name wildcard', () => {
    for (const policy of Object.values(
      guardrailPolicies({ ...OPTIONS, controlTowerAccountIds: [WORKLOAD] }),
    )) {
      for (const statement of policy.Statement) {
        const exempt = Object.values(statement.Condition ?? {}).flatMap((keys) =>
          [keys['aws:PrincipalArn'] ?? []].flat(),
        );
        for (const arn of exempt) expect(arn).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/);
      }
    }
  });

  it('fit the 5,120-character SCP limit for 15 workload accounts and refuse to render beyond it', () => {
    const accounts = (n: number) => Array.from({ length: n }, (_, i) => String(300000000000 + i));
    const fifteen = guardrailPolicies({ ...OPTIONS, workloadAccountIds: accounts(15) });
    expect(JSON.stringify(fifteen['protect-breakglass-roles']).length).toBeLessThanOrEqual(SCP_SIZE_LIMIT);
    expect(() => guardrailPolicies({ ...OPTIONS, workloadAccountIds: accounts(40) })).toThrow(/SCP limit/);
  });

  it('take the partition from the options', () => {
    const gov = guardrailPolicies({ ...OPTIONS, partition: 'aws-us-gov' })['protect-breakglass-roles'];
    expect(JSON.stringify(gov)).not.toMatch(/arn:aws:/);
  });

  describe('deny-cloudtrail-tampering', () => {
    const guard = 'deny-cloudtrail-tampering';
    const trail = `arn:aws:cloudtrail:us-east-1:${WORKLOAD}:trail/org-trail`;
    const store = `arn:aws:cloudtrail:us-east-1:${WORKLOAD}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE`;
    it.each([
      ['cloudtrail:StopLogging', trail],
      ['cloudtrail:DeleteTrail', trail],
      ['cloudtrail:UpdateTrail', trail],
      ['cloudtrail:PutEventSelectors', trail],
      ['cloudtrail:DeleteEventDataStore', store],
      ['cloudtrail:UpdateEventDataStore', store],
      ['cloudtrail:StopEventDataStoreIngestion', store],
      ['cloudtrail:PutEventConfiguration', store],
    ])('denies %s even to an administrator and the deploy role', async (action, resource) => {
      expect(await decide(guard, { principal: ADMIN, action, resource })).toBe('ExplicitlyDenied');
      expect(await decide(guard, { principal: DEPLOY, action, resource })).toBe('ExplicitlyDenied');
    });
    it('leaves reading trails and creating new ones alone', async () => {
      for (const action of ['cloudtrail:GetTrailStatus', 'cloudtrail:CreateTrail']) {
        expect(await decide(guard, { principal: ADMIN, action, resource: trail })).toBe('Allowed');
      }
      expect(
        await decide(guard, { principal: ADMIN, action: 'cloudtrail:LookupEvents', resource: '*' }),
      ).toBe('Allowed');
    });
    describe('with the Control Tower exemption', () => {
      const controlTower = `arn:aws:iam::${WORKLOAD}:role/AWSControlTowerExecution`;
      const withControlTower = async <T>(run: () => Promise<T>) => {
        current = guardrailPolicies({ ...OPTIONS, controlTowerAccountIds: [WORKLOAD] });
        try {
          return await run();
        } finally {
          current = guardrailPolicies(OPTIONS);
        }
      };
      it('lets AWSControlTowerExecution in a listed account manage the trail, nobody else', async () => {
        await withControlTower(async () => {
          expect(
            await decide(guard, {
              principal: controlTower,
              action: 'cloudtrail:UpdateTrail',
              resource: trail,
            }),
          ).toBe('Allowed');
          expect(
            await decide(guard, {
              principal: `arn:aws:iam::${OTHER}:role/AWSControlTowerExecution`,
              action: 'cloudtrail:UpdateTrail',
              resource: trail,
            }),
          ).toBe('ExplicitlyDenied');
        });
      });
      it('stops an administrator from making or re-trusting a role with that name', async () => {
        await withControlTower(async () => {
          for (const action of ['iam:CreateRole', 'iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy']) {
            expect(await decide(guard, { principal: ADMIN, action, resource: controlTower })).toBe(
              'ExplicitlyDenied',
            );
          }
        });
      });
    });
  });

  describe('protect-breakglass-roles', () => {
    const guard = 'protect-breakglass-roles';
    it.each(['iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole', 'iam:UntagRole'])(
      'denies %s on a break-glass role to an administrator, allows it to the deploy role of the account',
      async (action) => {
        expect(await decide(guard, { principal: ADMIN, action, resource: TARGET })).toBe('ExplicitlyDenied');
        expect(await decide(guard, { principal: DEPLOY, action, resource: TARGET })).toBe('Allowed');
      },
    );

    describe('no exemption an account administrator can obtain', () => {
      it('cannot create a role named like an exempt principal', async () => {
        for (const name of [
          'breakglass-deploy',
          'breakglass-issuer',
          'breakglass-revoker',
          'breakglass-transitions',
        ]) {
          const resource = `arn:aws:iam::${WORKLOAD}:role/${name}`;
          expect(await decide(guard, { principal: ADMIN, action: 'iam:CreateRole', resource })).toBe(
            'ExplicitlyDenied',
          );
        }
      });
      it('cannot re-trust, re-attach or hand over the deploy role, not even as the deploy role', async () => {
        const deploy = `arn:aws:iam::${WORKLOAD}:role/breakglass-deploy`;
        for (const principal of [ADMIN, DEPLOY]) {
          for (const action of [
            'iam:UpdateAssumeRolePolicy',
            'iam:AttachRolePolicy',
            'iam:PutRolePolicy',
            'iam:PassRole',
          ]) {
            expect(await decide(guard, { principal, action, resource: deploy })).toBe('ExplicitlyDenied');
          }
        }
      });
      it('a self-made breakglass-deploy in an unlisted account cannot change a break-glass role’s trust', async () => {
        const selfMade = `arn:aws:iam::${OTHER}:role/breakglass-deploy`;
        const target = `arn:aws:iam::${OTHER}:role/breakglass-prod-admin`;
        expect(
          await decide(guard, {
            principal: selfMade,
            action: 'iam:UpdateAssumeRolePolicy',
            resource: target,
          }),
        ).toBe('ExplicitlyDenied');
      });
      it('a breakglass-issuer outside the broker account cannot delete the revocation policy', async () => {
        const selfMade = `arn:aws:iam::${WORKLOAD}:role/breakglass-issuer`;
        expect(
          await decide(guard, { principal: selfMade, action: 'iam:DeleteRolePolicy', resource: TARGET }),
        ).toBe('ExplicitlyDenied');
      });
      it('the account’s CDK execution role (reachable by anyone who may deploy CloudFormation) is not exempt', async () => {
        for (const action of ['iam:UntagRole', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRolePolicy']) {
          expect(await decide(guard, { principal: CDK_EXEC, action, resource: TARGET })).toBe(
            'ExplicitlyDenied',
          );
        }
      });
      it('a role under a path with an exempt name is not the exempt role', async () => {
        const pathed = `arn:aws:iam::${WORKLOAD}:role/team/breakglass-deploy`;
        expect(await decide(guard, { principal: pathed, action: 'iam:UntagRole', resource: TARGET })).toBe(
          'ExplicitlyDenied',
        );
      });
    });

    it('lets only the broker (and the deploy role) write the revocation policy', async () => {
      for (const action of ['iam:PutRolePolicy', 'iam:DeleteRolePolicy']) {
        expect(await decide(guard, { principal: ADMIN, action, resource: TARGET })).toBe('ExplicitlyDenied');
        expect(await decide(guard, { principal: REVOKER, action, resource: TARGET })).toBe('Allowed');
        // The issuer writes IAM only in its own account (a target there); elsewhere it goes through the revoker.
        expect(await decide(guard, { principal: ISSUER, action, resource: BROKER_TARGET })).toBe('Allowed');
        expect(await decide(guard, { principal: DEPLOY, action, resource: TARGET })).toBe('Allowed');
      }
    });
    it('does not let the broker change anything else about the role', async () => {
      for (const action of ['iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole']) {
        expect(await decide(guard, { principal: REVOKER, action, resource: TARGET })).toBe(
          'ExplicitlyDenied',
        );
        expect(await decide(guard, { principal: ISSUER, action, resource: BROKER_TARGET })).toBe(
          'ExplicitlyDenied',
        );
      }
    });
    it('stops an administrator from tagging some other role as a break-glass target', async () => {
      const other = `arn:aws:iam::${WORKLOAD}:role/SomeAdminRole`;
      const tagging = { 'aws:TagKeys': ['breakglass:target'], 'aws:RequestTag/breakglass:target': 'true' };
      expect(
        await decide(guard, { principal: ADMIN, action: 'iam:TagRole', resource: other, context: tagging }),
      ).toBe('ExplicitlyDenied');
      expect(
        await decide(guard, {
          principal: CDK_EXEC,
          action: 'iam:TagRole',
          resource: other,
          context: tagging,
        }),
      ).toBe('ExplicitlyDenied');
      expect(
        await decide(guard, { principal: DEPLOY, action: 'iam:TagRole', resource: other, context: tagging }),
      ).toBe('Allowed');
      expect(
        await decide(guard, {
          principal: ADMIN,
          action: 'iam:TagRole',
          resource: other,
          context: { 'aws:TagKeys': ['team'] },
        }),
      ).toBe('Allowed');
    });
    it('leaves other roles alone', async () => {
      const other = `arn:aws:iam::${WORKLOAD}:role/app-role`;
      for (const action of ['iam:PutRolePolicy', 'iam:CreateRole', 'iam:UpdateAssumeRolePolicy']) {
        expect(await decide(guard, { principal: ADMIN, action, resource: other })).toBe('Allowed');
      }
    });
  });

  describe('deny-public-access-block-changes', () => {
    const guard = 'deny-public-access-block-changes';
    it('denies changing (or, through S3 Control, deleting) the account-level block to an administrator', async () => {
      expect(
        await decide(guard, { principal: ADMIN, action: 's3:PutAccountPublicAccessBlock', resource: '*' }),
      ).toBe('ExplicitlyDenied');
      expect(
        await decide(guard, { principal: CDK_EXEC, action: 's3:PutAccountPublicAccessBlock', resource: '*' }),
      ).toBe('ExplicitlyDenied');
      expect(
        await decide(guard, { principal: DEPLOY, action: 's3:PutAccountPublicAccessBlock', resource: '*' }),
      ).toBe('Allowed');
    });
    it('leaves bucket-level blocks to the bucket owner, so ordinary Terraform and CDK buckets still deploy', async () => {
      for (const principal of [ADMIN, CDK_EXEC]) {
        expect(
          await decide(guard, {
            principal,
            action: 's3:PutBucketPublicAccessBlock',
            resource: 'arn:aws:s3:::some-bucket',
          }),
        ).toBe('Allowed');
      }
    });
  });

  describe('region-allowlist', () => {
    const guard = 'region-allowlist';
    const instance = `arn:aws:ec2:ap-south-1:${WORKLOAD}:instance/*`;
    it('denies regional services outside the allowed regions, even to an administrator', async () => {
      expect(
        await decide(guard, {
          principal: ADMIN,
          action: 'ec2:RunInstances',
          resource: instance,
          context: { 'aws:RequestedRegion': 'ap-south-1' },
        }),
      ).toBe('ExplicitlyDenied');
    });
    it('allows the same call in an allowed region, and global services anywhere', async () => {
      expect(
        await decide(guard, {
          principal: ADMIN,
          action: 'ec2:RunInstances',
          resource: `arn:aws:ec2:eu-west-1:${WORKLOAD}:instance/*`,
          context: { 'aws:RequestedRegion': 'eu-west-1' },
        }),
      ).toBe('Allowed');
      expect(
        await decide(guard, {
          principal: ADMIN,
          action: 'iam:GetRole',
          resource: TARGET,
          context: { 'aws:RequestedRegion': 'ap-south-1' },
        }),
      ).toBe('Allowed');
    });
  });
});
