import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { ScheduleSpec, TransitionScheduler } from '../../ports/aws.js';
import { isAwsError, translateAwsError } from '../../ports/aws-errors.js';

/** Retries inside Scheduler before an event goes to the dead-letter queue: the service maximums. */
export const SCHEDULE_RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 };

/** One-time EventBridge Scheduler schedules through an injected SDK v3 client. */
export class EventBridgeTransitionScheduler implements TransitionScheduler {
  constructor(private readonly client: SchedulerClient) {}

  /** CreateSchedule for one `at()` firing that deletes itself afterwards; the name doubles as ClientToken. */
  async createSchedule(spec: ScheduleSpec): Promise<'created' | 'exists'> {
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: spec.name,
          GroupName: spec.group,
          Description: spec.description,
          ScheduleExpression: spec.expression,
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          State: 'ENABLED',
          ClientToken: spec.name,
          Target: {
            Arn: spec.targetArn,
            RoleArn: spec.roleArn,
            Input: spec.input,
            RetryPolicy: SCHEDULE_RETRY_POLICY,
            ...(spec.deadLetterArn ? { DeadLetterConfig: { Arn: spec.deadLetterArn } } : {}),
          },
        }),
      );
      return 'created';
    } catch (error) {
      // Names embed the grant, the transition and its minute, so an existing one is this very schedule.
      if (isAwsError(error, 'ConflictException')) return 'exists';
      throw translateAwsError(error, 'scheduler:CreateSchedule');
    }
  }

  /** DeleteSchedule; a schedule that already fired (and deleted itself) counts as deleted. */
  async deleteSchedule(name: string, group: string): Promise<'deleted' | 'absent'> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: group }));
      return 'deleted';
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return 'absent';
      throw translateAwsError(error, 'scheduler:DeleteSchedule');
    }
  }
}
