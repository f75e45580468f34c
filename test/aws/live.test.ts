/**
 * The AWS guarantees with real calls, in a sandbox account (BREAKGLASS_TEST_AWS=1 and credentials from the
 * default chain; docs/aws-setup.md#live-test-suite says what it needs, creates and costs).
 *
 * Target and revoker roles are rendered from the CDK constructs (infra/lib/target-role.ts) and created with the
 * SDK; a stand-in issuer role takes the place of the broker's `breakglass-issuer` in their trust policies (its own
 * permissions mirror the broker stack's issuer, minus `iam:PutRolePolicy`, so revocations must go through the
 * revoker role). Credentials are issued by the broker's own services in live mode (GrantService, RequestService,
 * real STS/IAM/Scheduler clients, the real federation endpoint); only storage is the in-memory twin of the
 * DynamoDB store. Every guarantee is proved by calling AWS with the issued credentials (`iam:GetRole` on the role
 * itself, which its policy allows; never `sts:GetCallerIdentity`, which no policy can deny) and prints one line.
 * Everything created is removed in afterAll, also after a failure.
 */
import { randomBytes } from 'node:crypto';
import {
  CreatePolicyCommand,
  CreateRoleCommand,
  DeletePolicyCommand,
  DeleteRoleCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateScheduleGroupCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveAws } from '../../api/adapters/aws/index.js';
import { S3Sink } from '../../api/adapters/bunker/s3-sink.js';
import { MemoryRevocationLedger } from '../../api/adapters/memory/revocation-ledger.js';
import { parseConfig } from '../../api/config/load.js';
import type { BreakglassConfig } from '../../api/config/schema.js';
import { INLINE_POLICY_BUDGET, policySize, REVOCATION_POLICY_NAME } from '../../api/domain/policies.js';
import type { Caller } from '../../api/domain/types.js';
import { BunkerConflict } from '../../api/ports/bunker.js';
import { systemClock } from '../../api/ports/clock.js';
import { silentLogger } from '../../api/ports/logger.js';
import { GrantService } from '../../api/services/grant-service.js';
import { RequestService } from '../../api/services/request-service.js';
import { REVOKER_TAG_VALUE, TARGET_TAG_KEY } from '../../infra/lib/names.js';
import { MemoryStore } from '../unit/aws-support.js';
import {
  Cleanup,
  eventually,
  GuaranteeReport,
  isAccessDenied,
  liveSkipReason,
  type PolicyDocumentJson,
  paddingPolicy,
  pollUntilDenied,
  type RenderedTargetRole,
  renderRevokerRole,
  renderTargetRole,
} from './support.js';

const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

/** One per test, in order; the dry run prints each with the reason it was skipped. */
const GUARANTEES = {
  trust:
    'trust policy from the construct: the broker assumes the role, a caller without SourceIdentity cannot',
  hardStop: 'hard stop: credentials work before a short grant ends and are denied after it',
  revoke: 'early revoke: the revoked grant is denied after propagation, other grants keep working',
  revoker: 'cross-account revoker: the revocation policy is written through the revoker role',
  chaining: 'no role chaining out of a session unless the role opts in',
  console: 'console: the federation endpoint gives a sign-in token for the chained credentials',
  schedules: 'transitions: CreateSchedule on activation, DeleteSchedule when the grant ends early',
  budget:
    'inline budget: a revocation that does not fit falls back to a role-wide aws:TokenIssueTime cut-off',
  bunker: 'bunker: write-once PutObject (If-None-Match) on an Object Lock bucket',
} as const;

const reason = await liveSkipReason(process.env, () => new STSClient({ region }).config.credentials());

if (reason) {
  describe('live AWS', () => {
    for (const guarantee of Object.values(GUARANTEES)) {
      console.log(`SKIP ${guarantee} — ${reason}`);
      it.skip(`${guarantee} (skipped: ${reason}; set BREAKGLASS_TEST_AWS=1 with sandbox credentials)`, () => {});
    }
  });
} else {
  describe('live AWS', () => {
    const suffix = randomBytes(4).toString('hex');
    const externalId = `bg-live-${randomBytes(8).toString('hex')}`;
    const names = {
      issuer: `bg-live-issuer-${suffix}`,
      scheduler: `bg-live-scheduler-${suffix}`,
      revoker: `bg-live-revoker-${suffix}`,
      target: `bg-live-target-${suffix}`,
      budget: `bg-live-budget-${suffix}`,
      chain: `bg-live-chain-${suffix}`,
      group: `bg-live-${suffix}`,
    };
    const cleanup = new Cleanup();
    const report = new GuaranteeReport();
    const runner = {
      sts: new STSClient({ region }),
      iam: new IAMClient({ region }),
      scheduler: new SchedulerClient({ region }),
      s3: new S3Client({ region }),
    };
    const requester: Caller = {
      subject: 'live-test',
      email: 'live-test@example.com',
      groups: ['sre'],
      mfa: true,
      via: 'cli',
    };
    const propagation = { timeoutMs: 120_000, intervalMs: 3_000 };
    let account = '';
    let partition = 'aws';
    const arn = (name: string) => `arn:${partition}:iam::${account}:role/${name}`;
    let config: BreakglassConfig;
    let store: MemoryStore;
    let requests: RequestService;
    let grants: GrantService;
    let ledger: MemoryRevocationLedger;
    let issuerCredentials: AwsCredentialIdentity;

    /** IAM as the holder of issued credentials sees it. */
    const iamAs = (credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string }) =>
      new IAMClient({
        region,
        credentials: {
          accessKeyId: credentials.AccessKeyId,
          secretAccessKey: credentials.SecretAccessKey,
          sessionToken: credentials.SessionToken,
        },
      });
    const getRole = (client: IAMClient, roleName: string) =>
      client.send(new GetRoleCommand({ RoleName: roleName }));

    async function deleteRole(roleName: string): Promise<void> {
      const { PolicyNames } = await runner.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
      for (const name of PolicyNames ?? []) {
        await runner.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
      }
      await runner.iam
        .send(new DeleteRolePermissionsBoundaryCommand({ RoleName: roleName }))
        .catch(() => undefined);
      await runner.iam.send(new DeleteRoleCommand({ RoleName: roleName }));
    }

    async function createRole(
      roleName: string,
      trust: unknown,
      inline: Record<string, unknown>,
      extra: {
        boundaryArn?: string;
        tags?: { Key: string; Value: string }[];
        maxSessionDuration?: number;
      } = {},
    ): Promise<void> {
      await runner.iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          AssumeRolePolicyDocument: JSON.stringify(trust),
          MaxSessionDuration: extra.maxSessionDuration ?? 3600,
          ...(extra.boundaryArn ? { PermissionsBoundary: extra.boundaryArn } : {}),
          ...(extra.tags ? { Tags: extra.tags } : {}),
        }),
      );
      cleanup.add(`role ${roleName}`, () => deleteRole(roleName));
      for (const [name, document] of Object.entries(inline)) {
        await runner.iam.send(
          new PutRolePolicyCommand({
            RoleName: roleName,
            PolicyName: name,
            PolicyDocument: JSON.stringify(document),
          }),
        );
      }
    }

    /** Creates a target role exactly as the construct renders it (boundary first, then the role). */
    async function createTargetRole(rendered: RenderedTargetRole): Promise<void> {
      const boundary = await runner.iam.send(
        new CreatePolicyCommand({
          PolicyName: rendered.boundary.name,
          PolicyDocument: JSON.stringify(rendered.boundary.document),
        }),
      );
      const boundaryArn = boundary.Policy!.Arn!;
      cleanup.add(`policy ${rendered.boundary.name}`, () =>
        runner.iam.send(new DeletePolicyCommand({ PolicyArn: boundaryArn })),
      );
      await createRole(
        rendered.roleName,
        rendered.trustPolicy,
        Object.fromEntries(rendered.inlinePolicies.map((policy) => [policy.name, policy.document])),
        { boundaryArn, tags: rendered.tags, maxSessionDuration: rendered.maxSessionDuration },
      );
    }

    const allow = (statements: Record<string, unknown>[]): PolicyDocumentJson => ({
      Version: '2012-10-17',
      Statement: statements.map((statement) => ({ Effect: 'Allow', ...statement })),
    });

    async function activeGrant(roleId: string, durationMinutes: number): Promise<string> {
      const { request } = await requests.create(requester, {
        roleId,
        durationMinutes,
        reason: 'live AWS suite',
      });
      expect(request.status).toBe('active');
      await requests.settled();
      return request.id;
    }

    /** Credentials for a grant; retried while IAM has not propagated a role the suite just made. */
    const credentialsFor = (id: string) =>
      eventually(() => grants.issueCredentials(requester, id), isAccessDenied, propagation);

    const eventsOf = (id: string, type: string) =>
      store.events.filter((event) => event.requestId === id && event.type === type);

    beforeAll(async () => {
      const identity = await runner.sts.send(new GetCallerIdentityCommand({}));
      account = identity.Account!;
      partition = identity.Arn!.split(':')[1]!;
      const issuerArn = arn(names.issuer);
      const schedulerRoleArn = arn(names.scheduler);
      const targetArn = `arn:${partition}:lambda:${region}:${account}:function:bg-live-transitions-${suffix}`;

      // The stand-in issuer: assumable by the runner's account, with the broker stack's issuer permissions except
      // iam:PutRolePolicy (infra/lib/broker-stack.ts), so an applied revocation proves the revoker path.
      await createRole(
        names.issuer,
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:${partition}:iam::${account}:root` },
              Action: 'sts:AssumeRole',
            },
          ],
        },
        {
          'breakglass-issuer': allow([
            {
              Sid: 'AssumeBreakglassTargets',
              Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
              Resource: `arn:${partition}:iam::*:role/*`,
              Condition: { StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: 'true' } },
            },
            {
              Sid: 'AssumeRevokers',
              Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
              Resource: `arn:${partition}:iam::*:role/${names.revoker}`,
              Condition: { StringEquals: { [`aws:ResourceTag/${TARGET_TAG_KEY}`]: REVOKER_TAG_VALUE } },
            },
            {
              Sid: 'ManageBreakglassSchedules',
              Action: [
                'scheduler:CreateSchedule',
                'scheduler:UpdateSchedule',
                'scheduler:DeleteSchedule',
                'scheduler:GetSchedule',
              ],
              Resource: `arn:${partition}:scheduler:${region}:${account}:schedule/${names.group}/*`,
            },
            {
              Sid: 'PassSchedulerRole',
              Action: 'iam:PassRole',
              Resource: schedulerRoleArn,
              Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
            },
          ]),
        },
      );
      await createRole(
        names.scheduler,
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': account } },
            },
          ],
        },
        { invoke: allow([{ Action: 'lambda:InvokeFunction', Resource: targetArn }]) },
      );
      const revoker = renderRevokerRole({ account, region, externalId, issuerArn });
      await createRole(
        names.revoker,
        revoker.trustPolicy,
        { [revoker.policy.name]: revoker.policy.document },
        {
          tags: revoker.tags,
          maxSessionDuration: revoker.maxSessionDuration,
        },
      );
      await createTargetRole(
        renderTargetRole({
          roleName: names.target,
          account,
          region,
          externalId,
          issuerArn,
          inlinePolicies: {
            allowed: allow([
              { Sid: 'ReadItself', Action: 'iam:GetRole', Resource: arn(names.target) },
              // Only so the chaining test can show that the session policy, not a missing permission, stops it.
              {
                Sid: 'ChainForTheTest',
                Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
                Resource: arn(names.chain),
              },
            ]),
          },
        }),
      );
      await createTargetRole(
        renderTargetRole({
          roleName: names.budget,
          account,
          region,
          externalId,
          issuerArn,
          inlinePolicies: {
            allowed: allow([{ Sid: 'ReadItself', Action: 'iam:GetRole', Resource: arn(names.budget) }]),
          },
        }),
      );
      // A role a break-glass session could chain into: trusts the target role (SourceIdentity persists on chaining).
      await createRole(
        names.chain,
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: arn(names.target) },
              Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
            },
          ],
        },
        {},
      );
      await runner.scheduler.send(new CreateScheduleGroupCommand({ Name: names.group }));
      cleanup.add(`schedule group ${names.group}`, () =>
        runner.scheduler.send(new DeleteScheduleGroupCommand({ Name: names.group })),
      );

      // The broker's credentials: the stand-in issuer, assumed once IAM has propagated it.
      const assumed = await eventually(
        () =>
          runner.sts.send(
            new AssumeRoleCommand({
              RoleArn: issuerArn,
              RoleSessionName: 'bg-live-broker',
              DurationSeconds: 3600,
            }),
          ),
        isAccessDenied,
        propagation,
      );
      issuerCredentials = {
        accessKeyId: assumed.Credentials!.AccessKeyId!,
        secretAccessKey: assumed.Credentials!.SecretAccessKey!,
        sessionToken: assumed.Credentials!.SessionToken!,
      };
      // Revocations go through the revoker role: wait until IAM lets the issuer assume it.
      await eventually(
        () =>
          new STSClient({ region, credentials: issuerCredentials }).send(
            new AssumeRoleCommand({
              RoleArn: arn(names.revoker),
              RoleSessionName: 'bg-live-warmup',
              ExternalId: externalId,
            }),
          ),
        isAccessDenied,
        propagation,
      );
      config = parseConfig(
        {
          version: 1,
          oidc: { issuer: 'https://idp.example.com', audience: 'breakglass', clientId: 'cli' },
          aws: {
            mode: 'live',
            region,
            externalId,
            issuerRoleArn: issuerArn,
            revokerRoleName: names.revoker,
            scheduler: { group: names.group, targetArn, roleArn: schedulerRoleArn },
          },
          roles: [
            {
              id: 'live-target',
              accountId: account,
              roleArn: arn(names.target),
              requesters: ['sre'],
              approvalsRequired: 0,
              maxDuration: '1h',
            },
            {
              id: 'live-chaining',
              accountId: account,
              roleArn: arn(names.target),
              requesters: ['sre'],
              approvalsRequired: 0,
              maxDuration: '1h',
              allowRoleChaining: true,
            },
            {
              id: 'live-budget',
              accountId: account,
              roleArn: arn(names.budget),
              requesters: ['sre'],
              approvalsRequired: 0,
              maxDuration: '1h',
            },
          ],
        },
        'live test config',
      );
      store = new MemoryStore();
      requests = new RequestService({ config, store, clock: systemClock, logger: silentLogger });
      ledger = new MemoryRevocationLedger();
      grants = new GrantService({
        config,
        requests,
        store,
        aws: liveAws(config, {
          sts: new STSClient({ region, credentials: issuerCredentials }),
          iam: new IAMClient({ region, credentials: issuerCredentials }),
          scheduler: new SchedulerClient({ region, credentials: issuerCredentials }),
        }),
        ledger,
        clock: systemClock,
        logger: silentLogger,
        publicUrl: 'https://breakglass.example.com',
      });
      store.addContributor(grants.revocationContributor(ledger));
      requests.addListener(grants.revocationListener);
      requests.addListener(grants.schedulingListener);
    }, 300_000);

    afterAll(async () => {
      await requests?.settled();
      const { done, failed } = await cleanup.run();
      console.log(
        `cleanup: removed ${done.length} resources${failed.length ? `; FAILED: ${JSON.stringify(failed)}` : ''}`,
      );
      expect(failed).toEqual([]);
    }, 300_000);

    it(GUARANTEES.trust, async () => {
      await report.check(GUARANTEES.trust, async () => {
        const id = await activeGrant('live-target', 60);
        const credentials = await credentialsFor(id);
        expect(credentials.AccessKeyId).toMatch(/^ASIA/);
        await getRole(iamAs(credentials), names.target);
        // The same issuer without SourceIdentity and tags: the construct's trust refuses it.
        const bare = await new STSClient({ region, credentials: issuerCredentials })
          .send(
            new AssumeRoleCommand({
              RoleArn: arn(names.target),
              RoleSessionName: 'bg-live-bare',
              ExternalId: externalId,
            }),
          )
          .then(
            () => 'allowed',
            (error: unknown) => (isAccessDenied(error) ? 'denied' : String(error)),
          );
        expect(bare).toBe('denied');
        return 'issued through AssumeRole + SetSourceIdentity + TagSession; bare AssumeRole denied';
      });
    });

    it(GUARANTEES.hardStop, async () => {
      await report.check(GUARANTEES.hardStop, async () => {
        const id = await activeGrant('live-target', 1);
        const endAt = new Date(store.requests.get(id)!.endAt!);
        const client = iamAs(await credentialsFor(id));
        await getRole(client, names.target);
        const beforeMs = endAt.getTime() - Date.now();
        expect(beforeMs).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, endAt.getTime() - Date.now())));
        const { deniedAfterMs } = await pollUntilDenied(() => getRole(client, names.target), {
          timeoutMs: 60_000,
          intervalMs: 1_000,
        });
        return `allowed ${Math.round(beforeMs / 1000)} s before the end, denied ${(deniedAfterMs / 1000).toFixed(1)} s after it (STS session still valid)`;
      });
    }, 180_000);

    let revokedId = '';
    it(GUARANTEES.revoke, async () => {
      await report.check(GUARANTEES.revoke, async () => {
        revokedId = await activeGrant('live-target', 60);
        const bystanderId = await activeGrant('live-target', 60);
        const revokedClient = iamAs(await credentialsFor(revokedId));
        const bystander = iamAs(await credentialsFor(bystanderId));
        await getRole(revokedClient, names.target);
        await requests.revoke(requester, revokedId, 'live AWS suite');
        await requests.settled();
        expect(eventsOf(revokedId, 'revocation.failed')).toEqual([]);
        expect(eventsOf(revokedId, 'revocation.applied')).toHaveLength(1);
        const { deniedAfterMs, attempts } = await pollUntilDenied(
          () => getRole(revokedClient, names.target),
          {
            timeoutMs: 300_000,
            intervalMs: 1_000,
          },
        );
        await getRole(bystander, names.target);
        return `denied ${(deniedAfterMs / 1000).toFixed(1)} s after revocation.applied (${attempts} calls); another grant still allowed`;
      });
    }, 360_000);

    it(GUARANTEES.revoker, async () => {
      await report.check(GUARANTEES.revoker, async () => {
        expect(revokedId).not.toBe('');
        const { PolicyDocument } = await runner.iam.send(
          new GetRolePolicyCommand({ RoleName: names.target, PolicyName: REVOCATION_POLICY_NAME }),
        );
        expect(decodeURIComponent(PolicyDocument!)).toContain(revokedId);
        // The issuer itself may not write it: the policy above can only have come through the revoker role.
        const direct = await new IAMClient({ region, credentials: issuerCredentials })
          .send(
            new PutRolePolicyCommand({
              RoleName: names.target,
              PolicyName: REVOCATION_POLICY_NAME,
              PolicyDocument: decodeURIComponent(PolicyDocument!),
            }),
          )
          .then(
            () => 'allowed',
            (error: unknown) => (isAccessDenied(error) ? 'denied' : String(error)),
          );
        expect(direct).toBe('denied');
        return `${REVOCATION_POLICY_NAME} names ${revokedId}; the issuer's own PutRolePolicy is denied`;
      });
    });

    it(GUARANTEES.chaining, async () => {
      await report.check(GUARANTEES.chaining, async () => {
        const chainAs = (credentials: {
          AccessKeyId: string;
          SecretAccessKey: string;
          SessionToken: string;
        }) =>
          new STSClient({
            region,
            credentials: {
              accessKeyId: credentials.AccessKeyId,
              secretAccessKey: credentials.SecretAccessKey,
              sessionToken: credentials.SessionToken,
            },
          }).send(new AssumeRoleCommand({ RoleArn: arn(names.chain), RoleSessionName: 'bg-live-chained' }));
        // Control first: with the opt-in the same role may chain (retried until IAM has the chain role), so the
        // deny below is the session policy's and not a role IAM does not know yet.
        const optedIn = await credentialsFor(await activeGrant('live-chaining', 60));
        await eventually(() => chainAs(optedIn), isAccessDenied, propagation);
        const ordinary = await credentialsFor(await activeGrant('live-target', 60));
        const refused = await chainAs(ordinary).then(
          () => 'allowed',
          (error: unknown) => (isAccessDenied(error) ? 'denied' : String(error)),
        );
        expect(refused).toBe('denied');
        return 'sts:AssumeRole from a session denied; allowed only for the role with allowRoleChaining: true';
      });
    }, 240_000);

    it(GUARANTEES.console, async () => {
      await report.check(GUARANTEES.console, async () => {
        const id = await activeGrant('live-target', 30);
        const session = await eventually(
          () => grants.openConsole(requester, id),
          isAccessDenied,
          propagation,
        );
        const url = new URL(session.url);
        expect(url.searchParams.get('Action')).toBe('login');
        expect(url.searchParams.get('SigninToken')?.length ?? 0).toBeGreaterThan(20);
        expect(eventsOf(id, 'console.issued')).toHaveLength(1);
        return `sign-in URL on ${url.host}, console session until ${session.expiresAt} (no SessionDuration sent)`;
      });
    });

    it(GUARANTEES.schedules, async () => {
      await report.check(GUARANTEES.schedules, async () => {
        const id = await activeGrant('live-target', 60);
        const [created] = eventsOf(id, 'schedule.created');
        expect(eventsOf(id, 'schedule.failed')).toEqual([]);
        expect(created).toBeDefined();
        const name = String(created!.data.name);
        const schedule = await runner.scheduler.send(
          new GetScheduleCommand({ Name: name, GroupName: names.group }),
        );
        expect(schedule.ScheduleExpression).toMatch(/^at\(/);
        expect(schedule.ActionAfterCompletion).toBe('DELETE');
        await requests.revoke(requester, id, 'live AWS suite');
        await requests.settled();
        const gone = await runner.scheduler
          .send(new GetScheduleCommand({ Name: name, GroupName: names.group }))
          .then(
            () => 'present',
            (error: { name?: string }) => error.name ?? String(error),
          );
        expect(gone).toBe('ResourceNotFoundException');
        return `${name} created (${schedule.ScheduleExpression}) and deleted after the revoke`;
      });
    });

    it(GUARANTEES.budget, async () => {
      await report.check(GUARANTEES.budget, async () => {
        const victim = await activeGrant('live-budget', 60);
        const bystanderId = await activeGrant('live-budget', 60);
        const victimClient = iamAs(await credentialsFor(victim));
        const bystander = iamAs(await credentialsFor(bystanderId));
        await getRole(bystander, names.budget);
        // Twenty revoked grants whose sessions may still be alive: a list of ids ~900 characters long.
        const now = new Date();
        for (let index = 0; index < 20; index++) {
          await ledger.record({
            roleArn: arn(names.budget),
            requestId: `req_LIVEBUDGET${String(index).padStart(15, '0')}`,
            revokedAt: now.toISOString(),
            aliveUntil: new Date(now.getTime() + 3600_000).toISOString(),
            retryAfter: new Date(now.getTime() + 3600_000).toISOString(),
          });
        }
        // Fill the role's inline budget so that ~550 characters remain: the cut-off fits, the id list does not.
        const { PolicyDocument } = await runner.iam.send(
          new GetRolePolicyCommand({ RoleName: names.budget, PolicyName: 'allowed' }),
        );
        const used = policySize(decodeURIComponent(PolicyDocument!));
        await runner.iam.send(
          new PutRolePolicyCommand({
            RoleName: names.budget,
            PolicyName: 'padding',
            PolicyDocument: paddingPolicy(INLINE_POLICY_BUDGET - used - 550, `bg-live-padding-${suffix}`),
          }),
        );
        await requests.revoke(requester, victim, 'live AWS suite');
        await requests.settled();
        const [applied] = eventsOf(victim, 'revocation.applied');
        expect(eventsOf(victim, 'revocation.failed')).toEqual([]);
        expect(applied?.data).toMatchObject({ fallback: true });
        const victimDenied = await pollUntilDenied(() => getRole(victimClient, names.budget), {
          timeoutMs: 300_000,
          intervalMs: 1_000,
        });
        // Role-wide: the other grant's session, issued before the cut-off, is denied too; fresh ones work.
        await pollUntilDenied(() => getRole(bystander, names.budget), {
          timeoutMs: 120_000,
          intervalMs: 1_000,
        });
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        const fresh = iamAs(await grants.issueCredentials(requester, bystanderId));
        await eventually(() => getRole(fresh, names.budget), isAccessDenied, propagation);
        return `revocation.applied fallback with cut-off ${JSON.stringify(applied!.data.cutoff)}; revoked grant denied after ${(victimDenied.deniedAfterMs / 1000).toFixed(1)} s, older sessions of the role too, fresh credentials work`;
      });
    }, 600_000);

    it(GUARANTEES.bunker, async () => {
      await report.check(GUARANTEES.bunker, async () => {
        const bucket = `bg-live-${suffix}-${account}`;
        await runner.s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            ObjectLockEnabledForBucket: true,
            ...(region === 'us-east-1'
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
          }),
        );
        cleanup.add(`bucket ${bucket}`, async () => {
          // GOVERNANCE retention can be bypassed by the runner; COMPLIANCE could not be, until it expired.
          const versions = await runner.s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
          for (const version of [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]) {
            await runner.s3.send(
              new DeleteObjectCommand({
                Bucket: bucket,
                Key: version.Key!,
                VersionId: version.VersionId!,
                BypassGovernanceRetention: true,
              }),
            );
          }
          await runner.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
        });
        await runner.s3.send(
          new PutObjectLockConfigurationCommand({
            Bucket: bucket,
            ObjectLockConfiguration: {
              ObjectLockEnabled: 'Enabled',
              Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
            },
          }),
        );
        const sink = new S3Sink({
          client: runner.s3,
          bucket,
          prefix: 'breakglass/',
          expectedBucketOwner: account,
        });
        const key = 'events/000000000001.json';
        expect(await sink.put(key, '{"seq":1}')).toBe('written');
        expect(await sink.put(key, '{"seq":1}')).toBe('identical');
        await expect(sink.put(key, '{"seq":1,"forged":true}')).rejects.toBeInstanceOf(BunkerConflict);
        // Object Lock: even the account's own admin cannot delete the stored version without bypassing retention.
        const versions = await runner.s3.send(
          new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `breakglass/${key}` }),
        );
        expect(versions.Versions).toHaveLength(1);
        const deleted = await runner.s3
          .send(
            new DeleteObjectCommand({
              Bucket: bucket,
              Key: `breakglass/${key}`,
              VersionId: versions.Versions![0]!.VersionId!,
            }),
          )
          .then(
            () => 'deleted',
            (error: unknown) => (isAccessDenied(error) ? 'denied' : String(error)),
          );
        expect(deleted).toBe('denied');
        // A plain PutObject without If-None-Match would add a version; the retained first version stays.
        await runner.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: `breakglass/${key}`, Body: 'overwrite' }),
        );
        expect(await sink.get(key)).toBe('overwrite');
        const after = await runner.s3.send(
          new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `breakglass/${key}` }),
        );
        expect(after.Versions?.map((version) => version.VersionId)).toContain(
          versions.Versions![0]!.VersionId,
        );
        return 'written once, replay identical, different bytes refused (412), locked version cannot be deleted';
      });
    });
  });
}
