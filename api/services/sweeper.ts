import type { Logger } from '../ports/logger.js';
import type { RequestService } from './request-service.js';

/** Periodic work besides the transitions, e.g. retrying revocations that AWS refused. */
export interface SweepTask {
  name: string;
  run(): Promise<unknown>;
}

/**
 * Applies overdue transitions on an interval. In AWS the scheduler fires each transition on time and this is
 * the fallback; in the local stack it is the only clock.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly tasks: SweepTask[] = [];

  constructor(
    private readonly requests: RequestService,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** Runs `task` after every sweep; its failures are logged and never stop the sweeper. */
  addTask(task: SweepTask): void {
    this.tasks.push(task);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
    void this.runOnce();
  }

  /** One sweep; overlapping calls share the sweep in progress. */
  runOnce(): Promise<void> {
    this.running ??= this.requests
      .sweep()
      .then((applied) => {
        if (applied > 0) this.logger.info({ applied }, 'sweeper applied due transitions');
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'sweep failed'))
      .then(() => this.runTasks())
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async runTasks(): Promise<void> {
    for (const task of this.tasks) {
      try {
        await task.run();
      } catch (error) {
        this.logger.error({ err: error, task: task.name }, 'sweep task failed');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
