/**
 * `breakglass audit activity` as a subprocess against a local stack: a grant with known activity in a
 * generated organisation trail, read by the broker (its configured directory) and by the CLI itself
 * (`--cloudtrail DIR`). It lists exactly the grant's calls and findings, none of another user's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantTrail } from '../../api/domain/activity/grant-trail.js';
import type { ActivityReport } from '../../api/services/activity.js';
import { trailFiles, trailRecord } from '../../bench/fixtures/cloudtrail-logs.js';
import { MutableClock } from '../support/clock.js';
import {
  type GrantActivityScenario,
  grantActivityScenario,
  writeTrailDirectory,
} from '../support/cloudtrail-fixtures.js';
import { TEST_USERS, testConfig } from '../support/fixtures.js';
import { apiClient, startTestStack, type TestStack, tokenFor } from '../support/stack.js';
import { cliEnv, ensureBuilt, runCli, tempHome } from './cli-helpers.js';

describe('breakglass audit activity', () => {
  let stack: TestStack;
  let brokerTrail: string;
  let copyTrail: string;
  let carol: NodeJS.ProcessEnv;
  let alice: NodeJS.ProcessEnv;
  let grantId: string;
  let scenario: GrantActivityScenario;
  const clock = new MutableClock();

  beforeAll(async () => {
    await ensureBuilt();
    brokerTrail = mkdtempSync(join(tmpdir(), 'bg-e2e-trail-'));
    copyTrail = mkdtempSync(join(tmpdir(), 'bg-e2e-trail-copy-'));
    stack = await startTestStack({
      clock,
      demoUsers: TEST_USERS,
      config: testConfig((raw) => {
        raw.cloudtrail = { kind: 'directory', directory: brokerTrail };
      }),
    });
    const aliceApi = apiClient(stack, await tokenFor(stack, 'alice'));
    const created = await aliceApi<{ id: string }>('POST', '/v1/requests', {
      roleId: 'prod-admin',
      durationMinutes: 60,
      reason: 'payments outage',
      ticket: 'INC-501',
      emergency: true,
    });
    grantId = created.body.id;
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      keys.push(
        (await aliceApi<{ AccessKeyId: string }>('POST', `/v1/requests/${grantId}/credentials`)).body
          .AccessKeyId,
      );
    }
    clock.advanceMinutes(40);
    const bob = apiClient(stack, await tokenFor(stack, 'bob'));
    expect((await bob('POST', `/v1/requests/${grantId}/revoke`, { reason: 'resolved' })).status).toBe(200);
    clock.reset();
    const trail = (
      await apiClient(stack, await tokenFor(stack, 'carol'))<GrantTrail>(
        'GET',
        `/v1/requests/${grantId}/activity/trail`,
      )
    ).body;
    scenario = grantActivityScenario({
      grant: {
        accountId: trail.accountId,
        roleArn: trail.roleArn,
        roleSessionName: trail.roleSessionName,
        sourceIdentity: trail.sourceIdentity,
        accessKeyId: keys[0]!,
      },
      secondKey: keys[1]!,
      from: trail.window.from,
      until: trail.window.to,
      attributableUntil: trail.attributableUntil,
    });
    const calls = [...scenario.mine, ...scenario.foreign, ...scenario.outside];
    writeTrailDirectory(brokerTrail, trailFiles(calls, { organizationId: 'o-exampleorg1' }));
    writeTrailDirectory(copyTrail, trailFiles(calls));

    carol = cliEnv(tempHome('bg-carol-'), { BREAKGLASS_URL: stack.url });
    expect((await runCli(['login', '--dev-user', 'carol'], carol)).code).toBe(0);
    alice = cliEnv(tempHome('bg-alice-'), { BREAKGLASS_URL: stack.url });
    expect((await runCli(['login', '--dev-user', 'alice'], alice)).code).toBe(0);
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(brokerTrail, { recursive: true, force: true });
    rmSync(copyTrail, { recursive: true, force: true });
  });

  const ids = (calls: GrantActivityScenario['mine']) => calls.map((call) => trailRecord(call).eventID);
  const CHECKLIST =
    /PutRolePolicy|CreateAccessKey|StopLogging|AuthorizeSecurityGroupIngress|PutBucket|ScheduleKeyDeletion|AttachPolicy|DeleteDetector|DisableSecurityHub|StopConfigurationRecorder|CreateRole|CreateUser/;

  function expectTheGrantsActivity(report: ActivityReport) {
    expect(report.requestId).toBe(grantId);
    expect(Object.keys(report.window)).toEqual(['from', 'to']);
    expect(report.records).toBe(scenario.mine.length);
    const byService: Record<string, number> = {};
    for (const call of scenario.mine) {
      const service = call.eventSource.split('.')[0]!;
      byService[service] = (byService[service] ?? 0) + 1;
    }
    expect(report.byService).toEqual(byService);
    const expected = scenario.mine.filter((call) => CHECKLIST.test(call.eventName));
    expect(report.findings.map((f) => f.eventId).sort()).toEqual(ids(expected).sort());
    for (const finding of report.findings) {
      expect(Object.keys(finding)).toEqual(expect.arrayContaining(['kind', 'eventName', 'eventId', 'time']));
    }
    const reported = JSON.stringify(report);
    for (const id of ids([...scenario.foreign, ...scenario.outside])) expect(reported).not.toContain(id);
  }

  it('--json prints the summary read by the broker: exactly the grant’s calls and findings', async () => {
    const result = await runCli(['audit', 'activity', grantId, '--json'], carol);
    expect(result.code, result.stderr).toBe(0);
    expectTheGrantsActivity(JSON.parse(result.stdout) as ActivityReport);
  });

  it('--cloudtrail DIR reads a local copy of the trail with the same result', async () => {
    const result = await runCli(['audit', 'activity', grantId, '--cloudtrail', copyTrail, '--json'], carol);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ActivityReport;
    expectTheGrantsActivity(report);
    expect(report.source.location).toBe(copyTrail);
  });

  it('prints findings with their event ids for people', async () => {
    const result = await runCli(['audit', 'activity', grantId], carol);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Activity of ${grantId}`);
    expect(result.stdout).toMatch(new RegExp(`records\\s+${scenario.mine.length}:`));
    expect(result.stdout).toMatch(/after the end 3 refused, 0 allowed/);
    const stop = trailRecord(scenario.mine.find((call) => call.eventName === 'StopLogging')!);
    expect(result.stdout).toMatch(
      new RegExp(
        `cloudtrail-tampering\\s+cloudtrail:StopLogging\\s+FAILED AccessDenied\\s+org-trail\\s+${stop.eventID}`,
      ),
    );
    expect(result.stdout).toContain('Findings (13):');
  });

  it('refuses the grant’s own requester, and a missing trail copy, with one line and an exit code', async () => {
    const forbidden = await runCli(['audit', 'activity', grantId, '--json'], alice);
    expect(forbidden.code).toBe(4);
    expect(forbidden.stdout).toBe('');
    expect(forbidden.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await runCli(
      ['audit', 'activity', grantId, '--cloudtrail', join(copyTrail, 'nope')],
      carol,
    );
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/is not a directory/);
  });
});
