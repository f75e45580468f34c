/**
 * The Lambda functions' logger: one JSON line per call, as pino writes them with the settings the server uses
 * (numeric `level`, ISO `time`, `name`, child bindings, `err` with its cause chain, `msg`), redacting the same
 * paths. pino with its stream, formatting and redaction packages deployed ~45 KiB with every function, for
 * `JSON.stringify` and a write; test/unit/json-lines-logger.test.ts holds the two to the same lines.
 */
import type { Logger } from '../../ports/logger.js';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export interface JsonLinesOptions {
  name: string;
  /** pino's level names, or `silent`; an unknown name logs everything from `info` up. */
  level: string;
  /** pino-style paths (`a.b`, `*.b`) whose values are replaced by `censor`, wherever they are logged. */
  redact: readonly string[];
  censor: string;
  /** Fields added to every line (the Lambda request id), after the child bindings. */
  mixin?: () => object;
  /** Receives each line with its newline; stdout when omitted. */
  destination?: { write(line: string): unknown };
  now?: () => Date;
}

type Fields = Record<string, unknown>;

const isErrorLike = (value: unknown): value is Error =>
  typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';

function causeOf(error: Error): Error | undefined {
  const cause = (error as { cause?: unknown }).cause;
  const found = typeof cause === 'function' ? (cause as () => unknown)() : cause;
  return isErrorLike(found) ? found : undefined;
}

/** `outer: inner: …`, as pino-std-serializers joins a cause chain (a function-style cause adds no separator). */
function messageWithCauses(error: Error, seen = new Set<Error>(), skip = false): string {
  const message = skip ? '' : error.message || '';
  if (seen.has(error)) return `${message}: ...`;
  const cause = causeOf(error);
  if (!cause) return message;
  seen.add(error);
  const functionCause = typeof (error as { cause?: unknown }).cause === 'function';
  return message + (functionCause ? '' : ': ') + messageWithCauses(cause, seen, functionCause);
}

function stackWithCauses(error: Error, seen = new Set<Error>()): string {
  const stack = error.stack || '';
  if (seen.has(error)) return `${stack}\ncauses have become circular...`;
  const cause = causeOf(error);
  if (!cause) return stack;
  seen.add(error);
  return `${stack}\ncaused by: ${stackWithCauses(cause, seen)}`;
}

/** pino's `err` serializer: type, message and stack with the causes, then the error's own enumerable fields. */
function serializeError(error: Error, seen = new Set<Error>()): Fields {
  seen.add(error);
  const out: Fields = {
    type: typeof error.constructor === 'function' ? error.constructor.name : error.name,
    message: messageWithCauses(error),
    stack: stackWithCauses(error),
  };
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    out.aggregateErrors = errors.map((inner) => (isErrorLike(inner) ? serializeError(inner, seen) : inner));
  }
  for (const key in error) {
    if (out[key] !== undefined) continue;
    const value = (error as unknown as Fields)[key];
    if (!isErrorLike(value)) out[key] = value;
    else if (key !== 'cause' && !seen.has(value)) out[key] = serializeError(value, seen);
  }
  return out;
}

/** A copy of `fields` with the value at `path` censored; objects on the way are copied, never changed. */
function censorPath(fields: Fields, path: readonly string[], censor: string): Fields {
  const [head, ...rest] = path;
  const keys = head === '*' ? Object.keys(fields) : head !== undefined && head in fields ? [head] : [];
  let copy: Fields | null = null;
  for (const key of keys) {
    const value = fields[key];
    let next: unknown;
    if (rest.length === 0) next = censor;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      next = censorPath(value as Fields, rest, censor);
      if (next === value) continue;
    } else continue;
    copy ??= { ...fields };
    copy[key] = next;
  }
  return copy ?? fields;
}

/** JSON.stringify that writes a repeated object on the current path as "[Circular]" and a bigint as a number. */
function stringify(record: Fields): string {
  const stack: unknown[] = [];
  return JSON.stringify(record, function (this: unknown, _key, value: unknown) {
    if (typeof value === 'bigint') return Number(value);
    if (typeof value !== 'object' || value === null) return value;
    while (stack.length > 0 && stack[stack.length - 1] !== this) stack.pop();
    if (stack.includes(value)) return '[Circular]';
    stack.push(value);
    return value;
  });
}

/** A Logger writing JSON lines; `child` adds bindings (redacted once, when bound). */
export function createJsonLinesLogger(options: JsonLinesOptions): Logger {
  const threshold =
    options.level === 'silent'
      ? Number.POSITIVE_INFINITY
      : (LEVELS[options.level as keyof typeof LEVELS] ?? LEVELS.info);
  const paths = options.redact.map((path) => path.split('.'));
  const redact = (fields: Fields) =>
    paths.reduce((out, path) => censorPath(out, path, options.censor), fields);
  const write = options.destination
    ? (line: string) => options.destination!.write(line)
    : (line: string) => process.stdout.write(line);
  const now = options.now ?? (() => new Date());

  const make = (bindings: Fields): Logger => {
    const log = (level: number) => (object: object, message?: string) => {
      if (level < threshold) return;
      let fields = object as Fields;
      if (isErrorLike(fields.err)) fields = { ...fields, err: serializeError(fields.err) };
      const record: Fields = {
        level,
        time: now().toISOString(),
        name: options.name,
        ...bindings,
        ...options.mixin?.(),
        ...redact(fields),
      };
      if (message !== undefined) record.msg = message;
      write(`${stringify(record)}\n`);
    };
    return {
      debug: log(LEVELS.debug),
      info: log(LEVELS.info),
      warn: log(LEVELS.warn),
      error: log(LEVELS.error),
      child: (more) => make({ ...bindings, ...redact(more) }),
    };
  };
  return make({});
}
