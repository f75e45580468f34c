/** Evaluates every guardrail SCP with an IAM policy simulator: what an ordinary admin may not do, and who may. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';

const GUARDRAILS = join(import.meta.dirname, '..', '..', 'infra', 'guardrails');
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

function scp(name: string): unknown {
  return JSON.parse(readFileSync(join(GUARDRAILS, `${name}.json`), 'utf8'));
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
  it('are valid policy documents with a Sid on every statement', () => {
    const files = readdirSync(GUARDRAILS).filter((file) => file.endsWith('.json'));
    expect(files.sort()).toEqual([
      'deny-cloudtrail-tampering.json',
      'deny-public-access-block-changes.json',
      'protect-breakglass-roles.json',
      'region-allowlist.json',
    ]);
    for (const file of files) {
      const policy = JSON.parse(readFileSync(join(GUARDRAILS, file), 'utf8'));
      expect(policy.Version).toBe('2012-10-17');
      // SCPs are limited to 5,120 characters, whitespace included.
      expect(readFileSync(join(GUARDRAILS, file), 'utf8').length).toBeLessThan(5120);
      for (const statement of policy.Statement) expect(statement.Sid).toMatch(/^[A-Za-z0-9]+$/);
    }
  });

  describe('deny-cloudtrail-tampering', () => {
    const trail = `arn:aws:cloudtrail:us-east-1:${WORKLOAD}:trail/org-trail`;
    it.each(['cloudtrail:StopLogging', 'cloudtrail:DeleteTrail', 'cloudtrail:UpdateTrail'])(
      'denies %s even to an administrator and the deploy role',
      async (action) => {
        expect(await decide('deny-cloudtrail-tampering', { principal: ADMIN, action, resource: trail })).toBe(
          'ExplicitlyDenied',
        );
        expect(
          await decide('deny-cloudtrail-tampering', { principal: DEPLOY, action, resource: trail }),
        ).toBe('ExplicitlyDenied');
      },
    );
    it('leaves reading trails alone', async () => {
      expect(
        await decide('deny-cloudtrail-tampering', {
          principal: ADMIN,
          action: 'cloudtrail:GetTrailStatus',
          resource: trail,
        }),
      ).toBe('Allowed');
    });
  });

  describe('protect-breakglass-roles', () => {
    const guard = 'protect-breakglass-roles';
    it.each(['iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRole', 'iam:UntagRole'])(
      'denies %s on a break-glass role to an administrator, allows it to the deploy pipeline',
      async (action) => {
        expect(await decide(guard, { principal: ADMIN, action, resource: TARGET })).toBe('ExplicitlyDenied');
        expect(await decide(guard, { principal: DEPLOY, action, resource: TARGET })).toBe('Allowed');
        expect(await decide(guard, { principal: CDK_EXEC, action, resource: TARGET })).toBe('Allowed');
      },
    );
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
      expect(await decide(guard, { principal: ADMIN, action: 'iam:PutRolePolicy', resource: other })).toBe(
        'Allowed',
      );
    });
  });

  describe('deny-public-access-block-changes', () => {
    const guard = 'deny-public-access-block-changes';
    it('denies bucket and account public access block changes to an administrator', async () => {
      expect(
        await decide(guard, {
          principal: ADMIN,
          action: 's3:PutBucketPublicAccessBlock',
          resource: 'arn:aws:s3:::some-bucket',
        }),
      ).toBe('ExplicitlyDenied');
      expect(
        await decide(guard, { principal: ADMIN, action: 's3:PutAccountPublicAccessBlock', resource: '*' }),
      ).toBe('ExplicitlyDenied');
    });
    it('allows the deploy pipeline, which sets the block on every bucket it creates', async () => {
      expect(
        await decide(guard, {
          principal: CDK_EXEC,
          action: 's3:PutBucketPublicAccessBlock',
          resource: 'arn:aws:s3:::some-bucket',
        }),
      ).toBe('Allowed');
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
