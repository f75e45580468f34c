/** Demo people of the local stack; their groups match breakglass.example.yaml. */
export interface DemoUser {
  name: string;
  email: string;
  groups: string[];
  description: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  {
    name: 'alice',
    email: 'alice@example.com',
    groups: ['sre'],
    description: 'SRE, can request production roles',
  },
  {
    name: 'bob',
    email: 'bob@example.com',
    groups: ['sre-leads'],
    description: 'SRE lead, approves requests',
  },
  {
    name: 'dave',
    email: 'dave@example.com',
    groups: ['sre-leads'],
    description: 'SRE lead, approves requests',
  },
  { name: 'carol', email: 'carol@example.com', groups: ['security'], description: 'Security, an auditor' },
  {
    name: 'pat',
    email: 'pat@example.com',
    groups: ['platform-admins'],
    description: 'Platform admin, may revoke any grant',
  },
  { name: 'erin', email: 'erin@example.com', groups: [], description: 'No groups: can do nothing' },
];

export function findDemoUser(name: string): DemoUser | undefined {
  return DEMO_USERS.find((user) => user.name === name || user.email === name);
}
