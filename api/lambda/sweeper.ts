/** Lambda entry point for the every-minute rule: applies every overdue transition (the scheduler's fallback). */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { buildCore, type CoreBroker } from '../compose.js';
import { LambdaRuntime, metricFields, settleBudgetMs } from './runtime.js';

export interface SweepResult {
  applied: number;
  tasks: Record<string, 'ok' | 'failed'>;
}

export function createSweeperHandler(runtime: LambdaRuntime<CoreBroker>) {
  return (_event: ScheduledEvent | Record<string, unknown>, context?: Context): Promise<SweepResult> =>
    runtime.run(context, async () => {
      const broker = await runtime.get();
      try {
        const applied = await broker.requests.sweep();
        const tasks: SweepResult['tasks'] = {};
        for (const task of broker.sweepTasks) {
          try {
            await task.run();
            tasks[task.name] = 'ok';
          } catch (error) {
            tasks[task.name] = 'failed';
            runtime.logger.error({ err: error, task: task.name }, 'sweep task failed');
          }
        }
        // Transitions the sweeper applies are ones no schedule delivered; the metric makes that visible.
        runtime.logger.info({ applied, tasks, ...metricFields('SweeperApplied', applied) }, 'sweep finished');
        return { applied, tasks };
      } finally {
        await broker.settle(settleBudgetMs(context));
      }
    });
}

export const handler = createSweeperHandler(new LambdaRuntime(buildCore));
