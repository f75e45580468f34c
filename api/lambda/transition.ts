/** Lambda entry point for EventBridge Scheduler: applies one time-driven transition, `{requestId, transition}`. */
import type { Context } from 'aws-lambda';
import { buildCore, type CoreBroker } from '../compose.js';
import { DomainError } from '../domain/errors.js';
import { nextDue } from '../domain/lifecycle.js';
import { handleTransition, type TransitionResult } from '../services/transitions.js';
import { type LambdaBroker, LambdaRuntime, metricFields, settleBudgetMs } from './runtime.js';

/** A schedule fires at minute precision, possibly before a due time with seconds: retry that, don't drop it. */
const EARLY_FIRE_WINDOW_MS = 5 * 60_000;

/** Thrown so that Lambda retries the invocation instead of losing the transition until the next sweep. */
export class TransitionNotDueYet extends Error {
  constructor(readonly dueAt: string) {
    super(`transition not due until ${dueAt}`);
    this.name = 'TransitionNotDueYet';
  }
}

export function createTransitionHandler(runtime: LambdaRuntime<CoreBroker>) {
  return (event: unknown, context?: Context): Promise<TransitionResult> =>
    runtime.run(context, async () => {
      let broker: LambdaBroker<CoreBroker> | null = null;
      try {
        broker = await runtime.get();
        const result = await handleTransition(broker.requests, event);
        const log = runtime.logger.child({ requestId: result.requestId, transition: result.transition });
        if (!result.applied) {
          const current = await broker.store.getRequest(result.requestId);
          const due = current ? nextDue(current) : null;
          if (
            due?.transition === result.transition &&
            new Date(due.at).getTime() - Date.now() < EARLY_FIRE_WINDOW_MS
          ) {
            throw new TransitionNotDueYet(due.at);
          }
        }
        log.info({ applied: result.applied, status: result.status }, 'transition handled');
        return result;
      } catch (error) {
        if (error instanceof TransitionNotDueYet) {
          runtime.logger.warn({ dueAt: error.dueAt }, 'schedule fired early; retrying');
        } else {
          const rejected = error instanceof DomainError && error.code === 'validation_failed';
          runtime.logger.error(
            {
              err: error,
              ...(rejected ? { input: JSON.stringify(event)?.slice(0, 300) } : {}),
              ...metricFields('TransitionFailures', 1),
            },
            rejected ? 'transition payload rejected' : 'transition failed',
          );
        }
        // Lambda retries the asynchronous invocation twice, then sends it to the schedules' DLQ (alarmed).
        throw error;
      } finally {
        await broker?.settle(settleBudgetMs(context));
      }
    });
}

export const handler = createTransitionHandler(new LambdaRuntime(buildCore));
