/** What `npm start` prints once the stack is up: where everything runs and commands that work as printed. */
import { join } from 'node:path';
import type { DemoUser } from './demo-users.js';

export interface BannerInput {
  url: string;
  issuer: string;
  dynamodbEndpoint: string;
  bunker: string;
  /** Absolute data directory; each demo user's CLI state goes under it. */
  dataDir: string;
  users: readonly DemoUser[];
}

/**
 * The CLI home of a demo user. Each user needs their own: one home holds one login, so logging bob in where
 * alice is logged in would make alice's request bob's and his approval a self-approval.
 */
export function demoHome(dataDir: string, user: string): string {
  return join(dataDir, 'cli', user);
}

/** A shell command line for one demo user: their own BREAKGLASS_HOME, the stack's URL. */
export function asUser(input: BannerInput, user: string, args: string): string {
  return `BREAKGLASS_HOME=${demoHome(input.dataDir, user)} BREAKGLASS_URL=${input.url} npx breakglass ${args}`;
}

export function startBanner(input: BannerInput): string {
  const users = input.users
    .map((user) => `${user.name} (${user.groups.join(', ') || 'no groups'})`)
    .join(', ');
  return [
    '',
    `Breakglass is running at ${input.url}  (AWS: simulated — no real credentials are issued)`,
    `  approver pages     ${input.url}/  (sign in as a demo user, any password)`,
    `  identity provider  ${input.issuer}  (development only)`,
    `  DynamoDB Local     ${input.dynamodbEndpoint}`,
    `  audit bunker       ${input.bunker}`,
    `  demo users         ${users}`,
    '',
    'Try it in another terminal (each demo user keeps their own CLI login in their own BREAKGLASS_HOME):',
    `  ${asUser(input, 'alice', 'login --dev-user alice')}`,
    `  ${asUser(input, 'alice', 'request prod-readonly --duration 1h --reason "look at the incident"')}`,
    `  ${asUser(input, 'bob', 'login --dev-user bob')}`,
    `  ${asUser(input, 'bob', 'approve REQUEST_ID')}     # the req_… id alice's request printed`,
    '',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}
