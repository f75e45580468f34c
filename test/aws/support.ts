/**
 * Helpers of the live-AWS suite (`test/aws/live.test.ts`) that need no AWS to be tested: why the suite skips,
 * what counts as "denied", polling until a revocation has propagated, cleaning up in reverse even after a failure,
 * one printed line per guarantee, and rendering roles from the CDK constructs (never a hand-written trust policy).
 * Unit-tested in `test/unit/aws-live-support.test.ts` with aws-sdk-client-mock.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ISSUER_ROLE_NAME, roleArn, TRANSITIONS_ROLE_NAME } from '../../infra/lib/names.js';
import { BreakglassRevokerRole, BreakglassTargetRole } from '../../infra/lib/target-role.js';

/** Why the suite does not run here, or null when it does: the opt-in variable, then credentials. */
export async function liveSkipReason(
  env: Record<string, string | undefined>,
  credentials: () => Promise<unknown>,
): Promise<string | null> {
  if (env.BREAKGLASS_TEST_AWS !== '1') return 'BREAKGLASS_TEST_AWS is not 1';
  try {
    await credentials();
    return null;
  } catch {
    return 'no AWS credentials in the default provider chain';
  }
}

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'aws_access_denied',
]);

/** True when AWS refused the call for lack of permission (an IAM deny), whatever the service calls it. */
export function isAccessDenied(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    DENIED.has(String(candidate.name)) ||
    DENIED.has(String(candidate.code)) ||
    candidate.$metadata?.httpStatusCode === 403
  );
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` until AWS denies it; resolves with how long that took (from the first call) and how many calls
 * it needed. Any error other than a deny fails at once; still allowed at `timeoutMs` fails with the count.
 */
export async function pollUntilDenied(
  probe: () => Promise<unknown>,
  options: PollOptions,
): Promise<{ deniedAfterMs: number; attempts: number }> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempts = 1; ; attempts++) {
    try {
      await probe();
    } catch (error) {
      if (isAccessDenied(error)) return { deniedAfterMs: now() - started, attempts };
      throw error;
    }
    if (now() - started >= options.timeoutMs) {
      throw new Error(`still allowed after ${attempts} calls in ${now() - started} ms`);
    }
    await sleep(options.intervalMs);
  }
}

/**
 * Retries `work` while it fails with an error `retryable` accepts (a role IAM has not propagated yet), up to
 * `timeoutMs`; the last error is thrown when time runs out.
 */
export async function eventually<T>(
  work: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  options: PollOptions,
): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const started = now();
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!retryable(error) || now() - started >= options.timeoutMs) throw error;
    }
    await sleep(options.intervalMs);
  }
}

/** Undo steps run newest first; every step runs even when an earlier one failed, and the failures are listed. */
export class Cleanup {
  private readonly steps: { label: string; undo: () => Promise<unknown> }[] = [];

  add(label: string, undo: () => Promise<unknown>): void {
    this.steps.push({ label, undo });
  }

  get pending(): string[] {
    return this.steps.map((step) => step.label);
  }

  async run(): Promise<{ done: string[]; failed: { label: string; error: string }[] }> {
    const done: string[] = [];
    const failed: { label: string; error: string }[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.undo();
        done.push(step.label);
      } catch (error) {
        failed.push({ label: step.label, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return { done, failed };
  }
}

/** One printed line per guarantee: `PASS <guarantee> — <what was measured>`. */
export class GuaranteeReport {
  readonly lines: string[] = [];

  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  pass(guarantee: string, detail: string): void {
    this.add('PASS', guarantee, detail);
  }

  fail(guarantee: string, error: unknown): void {
    this.add('FAIL', guarantee, error instanceof Error ? error.message : String(error));
  }

  /** Runs one guarantee's check and prints its line either way (the error still fails the test). */
  async check(guarantee: string, work: () => Promise<string>): Promise<void> {
    try {
      this.pass(guarantee, await work());
    } catch (error) {
      this.fail(guarantee, error);
      throw error;
    }
  }

  private add(outcome: string, guarantee: string, detail: string): void {
    const line = `${outcome} ${guarantee} — ${detail}`;
    this.lines.push(line);
    this.print(line);
  }
}

/** Resolves the intrinsics a synthesized IAM resource uses (`Ref` of pseudo parameters, `Fn::Join`). */
export function resolveCfn(value: unknown, refs: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveCfn(item, refs));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) {
    const name = String(object.Ref);
    if (!(name in refs)) throw new Error(`cannot resolve Ref ${name}`);
    return refs[name];
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolveCfn(part, refs))).join(separator);
  }
  const keys = Object.keys(object);
  if (keys.some((key) => key.startsWith('Fn::'))) throw new Error(`cannot resolve ${keys.join(', ')}`);
  return Object.fromEntries(keys.map((key) => [key, resolveCfn(object[key], refs)]));
}

/** Replaces every occurrence of one principal ARN in a policy document (the stand-in for the broker's role). */
export function replacePrincipal(document: unknown, from: string[], to: string): unknown {
  if (Array.isArray(document)) {
    const replaced = document.map((item) => replacePrincipal(item, from, to));
    return [...new Set(replaced.map((item) => JSON.stringify(item)))].map((item) => JSON.parse(item));
  }
  if (typeof document === 'string') return from.includes(document) ? to : document;
  if (typeof document !== 'object' || document === null) return document;
  return Object.fromEntries(
    Object.entries(document).map(([key, value]) => [key, replacePrincipal(value, from, to)]),
  );
}

interface Synthesized {
  resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  refs: Record<string, string>;
}

function synthesize(account: string, region: string, build: (stack: Stack) => void): Synthesized {
  const app = new App();
  const stack = new Stack(app, 'LiveTestRender', { env: { account, region } });
  build(stack);
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Synthesized['resources'];
  };
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return {
    resources: template.Resources,
    refs: { 'AWS::Partition': partition, 'AWS::AccountId': account, 'AWS::Region': region },
  };
}

function only(synth: Synthesized, type: string) {
  const found = Object.entries(synth.resources).filter(([, resource]) => resource.Type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return { id: found[0]![0], properties: found[0]![1].Properties };
}

export interface PolicyDocumentJson {
  Version: string;
  Statement: Record<string, unknown>[];
}

/** A target role as the construct renders it, ready for CreateRole / CreatePolicy / PutRolePolicy. */
export interface RenderedTargetRole {
  roleName: string;
  trustPolicy: PolicyDocumentJson;
  boundary: { name: string; document: PolicyDocumentJson };
  inlinePolicies: { name: string; document: PolicyDocumentJson }[];
  maxSessionDuration: number;
  tags: { Key: string; Value: string }[];
}

/**
 * Renders `BreakglassTargetRole` (infra/lib/target-role.ts) for one sandbox account. The construct trusts
 * `breakglass-issuer` in the broker account; the suite's stand-in issuer role (`issuerArn`) takes its place in
 * the trust policy and nothing else changes: statements, actions and conditions are the construct's own.
 */
export function renderTargetRole(props: {
  roleName: string;
  account: string;
  region: string;
  externalId: string;
  issuerArn: string;
  inlinePolicies: Record<string, PolicyDocumentJson>;
}): RenderedTargetRole {
  const synth = synthesize(props.account, props.region, (stack) => {
    new BreakglassTargetRole(stack, 'Target', {
      roleName: props.roleName,
      brokerAccountId: props.account,
      externalId: props.externalId,
      inlinePolicies: Object.fromEntries(
        Object.entries(props.inlinePolicies).map(([name, document]) => [
          name,
          iam.PolicyDocument.fromJson(document),
        ]),
      ),
    });
  });
  const role = only(synth, 'AWS::IAM::Role');
  const boundary = only(synth, 'AWS::IAM::ManagedPolicy');
  if ((role.properties.PermissionsBoundary as { Ref?: string })?.Ref !== boundary.id) {
    throw new Error('the rendered role does not carry the rendered boundary');
  }
  const brokerIssuer = roleArn(props.account, ISSUER_ROLE_NAME, synth.refs['AWS::Partition']);
  const trust = replacePrincipal(
    resolveCfn(role.properties.AssumeRolePolicyDocument, synth.refs),
    [brokerIssuer],
    props.issuerArn,
  ) as PolicyDocumentJson;
  return {
    roleName: String(role.properties.RoleName),
    trustPolicy: trust,
    boundary: {
      name: String(boundary.properties.ManagedPolicyName),
      document: resolveCfn(boundary.properties.PolicyDocument, synth.refs) as PolicyDocumentJson,
    },
    inlinePolicies: (
      (role.properties.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]
    ).map((policy) => ({
      name: policy.PolicyName,
      document: resolveCfn(policy.PolicyDocument, synth.refs) as PolicyDocumentJson,
    })),
    maxSessionDuration: Number(role.properties.MaxSessionDuration),
    tags: (role.properties.Tags ?? []) as { Key: string; Value: string }[],
  };
}

/** The revoker role as `BreakglassRevokerRole` renders it, with the stand-in issuer trusted in place of the broker's. */
export interface RenderedRevokerRole {
  trustPolicy: PolicyDocumentJson;
  policy: { name: string; document: PolicyDocumentJson };
  tags: { Key: string; Value: string }[];
  maxSessionDuration: number;
}

export function renderRevokerRole(props: {
  account: string;
  region: string;
  externalId: string;
  issuerArn: string;
}): RenderedRevokerRole {
  const synth = synthesize(props.account, props.region, (stack) => {
    new BreakglassRevokerRole(stack, 'Revoker', {
      brokerAccountId: props.account,
      externalId: props.externalId,
    });
  });
  const role = only(synth, 'AWS::IAM::Role');
  const policy = only(synth, 'AWS::IAM::Policy');
  const partition = synth.refs['AWS::Partition']!;
  const brokerRoles = [ISSUER_ROLE_NAME, TRANSITIONS_ROLE_NAME].map((name) =>
    roleArn(props.account, name, partition),
  );
  return {
    trustPolicy: replacePrincipal(
      resolveCfn(role.properties.AssumeRolePolicyDocument, synth.refs),
      brokerRoles,
      props.issuerArn,
    ) as PolicyDocumentJson,
    policy: {
      name: String(policy.properties.PolicyName),
      document: resolveCfn(policy.properties.PolicyDocument, synth.refs) as PolicyDocumentJson,
    },
    tags: (role.properties.Tags ?? []) as { Key: string; Value: string }[],
    maxSessionDuration: Number(role.properties.MaxSessionDuration),
  };
}

/**
 * An inline policy of exactly `size` non-whitespace characters (how IAM counts a role's 10,240-character inline
 * budget) that changes nothing: it denies reading objects of a bucket that does not exist.
 */
export function paddingPolicy(size: number, bucket: string): string {
  const render = (keys: string[]) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'Padding',
          Effect: 'Deny',
          Action: 's3:GetObject',
          Resource: keys.map((k) => `arn:aws:s3:::${bucket}/${k}`),
        },
      ],
    });
  const keys: string[] = [];
  // Whole 900-character keys while they fit, then one key that makes up the rest.
  while (render([...keys, 'x'.repeat(900)]).length <= size) keys.push('x'.repeat(900));
  const rest = size - render([...keys, '']).length;
  if (rest < 0) throw new Error(`cannot pad to ${size} characters`);
  return render([...keys, 'y'.repeat(rest)]);
}
