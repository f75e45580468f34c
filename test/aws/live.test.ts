/**
 * Against a real AWS account (BREAKGLASS_TEST_AWS=1 and credentials from the default chain): creates a
 * throw-away target role, assumes it the way the broker does, proves the session policy's date condition and
 * the revocation policy with IAM's own policy simulator, runs doctor on it, and deletes everything again.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  SimulateCustomPolicyCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamRolePolicies } from '../../api/adapters/aws/iam.js';
import { StsCredentialIssuer } from '../../api/adapters/aws/sts.js';
import { parseConfig } from '../../api/config/load.js';
import {
  buildRevocationPolicy,
  iamTime,
  REQUEST_TAG,
  REQUESTER_TAG,
  REVOCATION_POLICY_NAME,
  roleSessionName,
  sessionDurationSeconds,
  sessionPolicy,
  sourceIdentity,
} from '../../api/domain/policies.js';
import { runDoctor } from '../../api/services/doctor.js';

const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

async function skipReason(): Promise<string | null> {
  if (process.env.BREAKGLASS_TEST_AWS !== '1') return 'BREAKGLASS_TEST_AWS is not 1';
  try {
    await new STSClient({ region }).config.credentials();
    return null;
  } catch {
    return 'no AWS credentials in the default provider chain';
  }
}

const reason = await skipReason();

if (reason) {
  describe('live AWS', () => {
    it.skip(`skipped: ${reason} (set BREAKGLASS_TEST_AWS=1 with credentials to run)`, () => {});
  });
  console.log(`live AWS suite skipped: ${reason}`);
} else {
  describe('live AWS', () => {
    const iamClient = new IAMClient({ region });
    const stsClient = new STSClient({ region });
    const iam = new IamRolePolicies(iamClient);
    const externalId = `bg-test-${randomBytes(6).toString('hex')}`;
    const roleName = `breakglass-test-${randomBytes(4).toString('hex')}`;
    const requestId = `req_${randomBytes(13).toString('hex').toUpperCase().slice(0, 26)}`;
    let account = '';
    let roleArn = '';
    let trusted = '';

    beforeAll(async () => {
      const identity = await stsClient.send(new GetCallerIdentityCommand({}));
      account = identity.Account!;
      trusted = `arn:aws:iam::${account}:root`;
      const created = await iamClient.send(
        new CreateRoleCommand({
          RoleName: roleName,
          MaxSessionDuration: 3600,
          Tags: [{ Key: 'breakglass:target', Value: 'true' }],
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: trusted },
                Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
                Condition: { StringEquals: { 'sts:ExternalId': externalId } },
              },
            ],
          }),
        }),
      );
      roleArn = created.Role!.Arn!;
      await iamClient.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: 'test-permissions',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['s3:ListAllMyBuckets', 's3:ListBucket'], Resource: '*' }],
          }),
        }),
      );
    });

    afterAll(async () => {
      if (!roleArn) return;
      const { PolicyNames } = await iamClient.send(new ListRolePoliciesCommand({ RoleName: roleName }));
      for (const name of PolicyNames ?? []) {
        await iamClient.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
      }
      await iamClient.send(new DeleteRoleCommand({ RoleName: roleName }));
    });

    it('assumes the role with source identity, session tags, external id and the session policy', async () => {
      const now = new Date();
      const endAt = new Date(now.getTime() + 10 * 60_000);
      const issuer = new StsCredentialIssuer(stsClient);
      let session: Awaited<ReturnType<typeof issuer.assumeRole>> | null = null;
      // A new role needs a few seconds before STS lets anyone assume it.
      for (let attempt = 0; attempt < 20 && !session; attempt++) {
        try {
          session = await issuer.assumeRole({
            roleArn,
            roleSessionName: roleSessionName('live-test@example.com', requestId),
            sourceIdentity: sourceIdentity('live-test@example.com'),
            tags: [
              { Key: REQUEST_TAG, Value: requestId },
              { Key: REQUESTER_TAG, Value: 'live-test@example.com' },
            ],
            externalId,
            policy: sessionPolicy(endAt, { managedSessionPolicies: false, allowRoleChaining: false }),
            policyArns: [],
            durationSeconds: sessionDurationSeconds(now, endAt),
          });
        } catch (error) {
          if (attempt === 19) throw error;
          await new Promise((resolve) => setTimeout(resolve, 3000));
        }
      }
      expect(session!.accessKeyId).toMatch(/^ASIA/);
      expect(session!.assumedRoleArn).toContain(roleName);
      const who = await new STSClient({
        region,
        credentials: {
          accessKeyId: session!.accessKeyId,
          secretAccessKey: session!.secretAccessKey,
          sessionToken: session!.sessionToken,
        },
      }).send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toContain(`assumed-role/${roleName}/`);
    });

    it('IAM agrees: the session policy allows one second before the end and denies at the end', async () => {
      const end = new Date(Date.now() + 30 * 60_000);
      const simulate = async (at: Date) => {
        const result = await iamClient.send(
          new SimulateCustomPolicyCommand({
            PolicyInputList: [
              sessionPolicy(end, { managedSessionPolicies: false, allowRoleChaining: false }),
            ],
            ActionNames: ['s3:ListBucket'],
            ResourceArns: ['arn:aws:s3:::example-bucket'],
            ContextEntries: [
              { ContextKeyName: 'aws:CurrentTime', ContextKeyType: 'date', ContextKeyValues: [iamTime(at)] },
            ],
          }),
        );
        return result.EvaluationResults?.[0]?.EvalDecision;
      };
      expect(await simulate(new Date(new Date(iamTime(end)).getTime() - 1000))).toBe('allowed');
      expect(await simulate(new Date(iamTime(end)))).toBe('implicitDeny');
    });

    it('IAM agrees: the revocation policy denies the revoked grant’s sessions and no one else’s', async () => {
      const now = new Date();
      const plan = buildRevocationPolicy({
        entries: [
          {
            requestId,
            revokedAt: now.toISOString(),
            aliveUntil: new Date(now.getTime() + 3600_000).toISOString(),
          },
        ],
        now,
      });
      await iam.putRolePolicy(roleName, REVOCATION_POLICY_NAME, plan.text!);
      expect(await iam.getRolePolicy(roleName, REVOCATION_POLICY_NAME)).toBe(plan.text);
      const simulate = async (tag: string) => {
        const result = await iamClient.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: roleArn,
            ActionNames: ['s3:ListAllMyBuckets'],
            ContextEntries: [
              {
                ContextKeyName: `aws:PrincipalTag/${REQUEST_TAG}`,
                ContextKeyType: 'string',
                ContextKeyValues: [tag],
              },
              { ContextKeyName: 'aws:CurrentTime', ContextKeyType: 'date', ContextKeyValues: [iamTime(now)] },
            ],
          }),
        );
        return result.EvaluationResults?.[0]?.EvalDecision;
      };
      expect(await simulate(requestId)).toBe('explicitDeny');
      expect(await simulate('req_SOMEONEELSE')).toBe('allowed');
      await iam.deleteRolePolicy(roleName, REVOCATION_POLICY_NAME);
      await iam.deleteRolePolicy(roleName, REVOCATION_POLICY_NAME);
    });

    it('doctor passes the role', async () => {
      const config = parseConfig(
        {
          version: 1,
          oidc: { issuer: 'https://idp.example.com', audience: 'breakglass', clientId: 'cli' },
          aws: { mode: 'live', region, externalId, issuerRoleArn: trusted },
          roles: [
            {
              id: 'live-test',
              accountId: account,
              roleArn,
              requesters: ['sre'],
              approvalsRequired: 0,
              maxDuration: '1h',
            },
          ],
        },
        'live test config',
      );
      const report = await runDoctor(config, iam);
      expect(report.roles[0]).toMatchObject({ status: 'ok', maxSessionDuration: 3600 });
    });
  });
}
