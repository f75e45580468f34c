import { CreateScheduleCommand, DeleteScheduleCommand, ThrottlingException } from '@aws-sdk/client-scheduler';
import { describe, expect, it } from 'vitest';
import { handleTransition } from '../../api/services/transitions.js';
import { harness, settle } from './aws-support.js';
import {
  activeGrant,
  config,
  DLQ,
  eventsOf,
  type Harness,
  SCHEDULER_ROLE,
  TARGET,
} from './grant-fixtures.js';
import { alice, bob, configWith } from './support.js';

describe('EventBridge Scheduler', () => {
  it('exact CreateSchedule input for the pending timeout and, after approval, the expiry', async () => {
    const h = harness(config());
    h.scheduler.on(CreateScheduleCommand).resolves({});
    h.scheduler.on(DeleteScheduleCommand).resolves({});
    const { request } = await h.requests.create(alice, {
      roleId: 'prod-readonly',
      durationMinutes: 45,
      reason: 'investigate',
    });
    await settle();
    const timeoutName = `bg-${request.id}-tmo-202611221200`;
    expect(h.scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toEqual({
      Name: timeoutName,
      GroupName: 'breakglass',
      Description: `breakglass timeout ${request.id}`,
      ScheduleExpression: 'at(2026-11-22T12:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      ClientToken: timeoutName,
      Target: {
        Arn: TARGET,
        RoleArn: SCHEDULER_ROLE,
        Input: JSON.stringify({ requestId: request.id, transition: 'timeout' }),
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: DLQ },
      },
    });
    await h.requests.approve(bob, request.id, null);
    await settle();
    const created = h.scheduler.commandCalls(CreateScheduleCommand).map((call) => call.args[0].input);
    expect(created[1]).toMatchObject({
      Name: `bg-${request.id}-exp-202611221045`,
      ScheduleExpression: 'at(2026-11-22T10:45:00)',
      Target: { Input: JSON.stringify({ requestId: request.id, transition: 'expire' }) },
    });
    expect(h.scheduler.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: timeoutName, GroupName: 'breakglass' },
    ]);
    expect(eventsOf(h, 'schedule.created', request.id).map((event) => event.data.transition)).toEqual([
      'timeout',
      'expire',
    ]);
  });

  it('a failing Scheduler never blocks the transition: schedule.failed, and the handler still applies it', async () => {
    const h = harness(config());
    h.scheduler
      .on(CreateScheduleCommand)
      .rejects(new ThrottlingException({ $metadata: {}, message: 'slow down', Message: 'slow down' }));
    const grant = await activeGrant(h, 30);
    expect(grant.status).toBe('active');
    const failed = eventsOf(h, 'schedule.failed', grant.id).map((event) => event.data);
    expect(failed).toContainEqual(
      expect.objectContaining({ transition: 'expire', reason: 'aws_throttled', fallback: 'sweeper' }),
    );

    // The schedule target: idempotent, only applies what is due.
    const early = await handleTransition(h.requests, { requestId: grant.id, transition: 'expire' });
    expect(early).toMatchObject({ applied: false, status: null });
    h.clock.advanceMinutes(30);
    const due = await handleTransition(
      h.requests,
      JSON.stringify({ requestId: grant.id, transition: 'expire' }),
    );
    expect(due).toMatchObject({ applied: true, status: 'expired' });
    const again = await handleTransition(h.requests, { requestId: grant.id, transition: 'expire' });
    expect(again.applied).toBe(false);
    expect(eventsOf(h, 'grant.expired', grant.id)).toHaveLength(1);
    await expect(
      handleTransition(h.requests, { requestId: 'nope', transition: 'expire' }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('is skipped in simulated mode or without a target', async () => {
    const simulated = harness(configWith((raw) => (raw.aws.mode = 'simulated')));
    expect(simulated.grants.schedulingEnabled).toBe(false);
    const noTarget = harness(configWith((raw) => (raw.aws = { mode: 'live', region: 'us-east-1' })));
    expect(noTarget.grants.schedulingEnabled).toBe(false);
    await activeGrant(noTarget as Harness, 30);
    expect(noTarget.scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });
});
