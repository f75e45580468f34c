/**
 * `npm run bench`: runs every benchmark suite in turn and prints its numbers. Each suite lives in
 * bench/suites/, exports `name` and `run()`, and prints plain lines (metric, value, unit, target).
 */
import '../api/local/thread-pool.js';
import '../api/local/quiet-warnings.js';

interface Suite {
  name: string;
  run(): Promise<void>;
}

const SUITES: Array<() => Promise<Suite>> = [
  // Each capability adds its suite here.
  () => import('./suites/api.js'),
  () => import('./suites/write-path.js'),
  () => import('./suites/audit.js'),
  () => import('./suites/cli.js'),
  () => import('./suites/lambda.js'),
  () => import('./suites/activity.js'),
  () => import('./suites/list.js'),
  () => import('./suites/start.js'),
];

async function main(): Promise<void> {
  const only = process.argv[2];
  for (const load of SUITES) {
    const suite = await load();
    if (only && suite.name !== only) continue;
    console.log(`\n== ${suite.name} ==`);
    await suite.run();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
