/** The command tree (commander): flags, help with examples, and which command function each one runs. */
import { Command, type CommanderError, Option } from 'commander';
import { REQUEST_STATUSES } from '../api/domain/types.js';
import type { CompletionNode } from './completion.js';
import type { CliContext } from './context.js';
import { usage } from './errors.js';

type Action = (...args: unknown[]) => Promise<void>;

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/** Adds --json and --server, which every command accepts. */
function withGlobals(command: Command): Command {
  return command
    .option('--json', 'machine-readable JSON on stdout (and nothing else)')
    .option('--server <url>', 'broker URL (default: $BREAKGLASS_URL, then the server you logged in to)');
}

/** Wraps a command function so it receives the context, positional arguments and merged options. */
function act(ctx: CliContext, run: (ctx: CliContext, ...rest: never[]) => Promise<void>): Action {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const positional = args.slice(0, -2);
    await run(ctx, ...(positional as never[]), command.optsWithGlobals() as never);
  };
}

export function buildProgram(ctx: CliContext, version: string): Command {
  const program = new Command('breakglass')
    .description('Time-bound break-glass access to AWS roles: request, approve, get credentials, audit.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
      // Errors are rendered by run.ts as one line with a hint.
      outputError: () => undefined,
    })
    .addHelpText(
      'after',
      examples([
        'breakglass login',
        'breakglass request prod-admin --duration 1h --ticket INC-42 --reason "database failover" --wait',
        'breakglass credentials --role prod-admin',
        'breakglass approve req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
      ]),
    );
  withGlobals(program);

  const lazy = <M>(
    load: () => Promise<M>,
    pick: (module: M) => (ctx: CliContext, ...rest: never[]) => Promise<void>,
  ) => act(ctx, async (c, ...rest) => pick(await load())(c, ...rest));
  const auth = () => import('./commands/auth.js');
  const requests = () => import('./commands/requests.js');
  const creds = () => import('./commands/credentials.js');
  const audit = () => import('./commands/audit.js');

  withGlobals(program.command('login'))
    .description('log in through your identity provider (device code by default)')
    .option('--browser', 'log in with a browser redirect to 127.0.0.1 (PKCE) instead of a device code')
    .option(
      '--dev-user <name>',
      'development servers only: log in as a demo user (alice, bob, dave, carol, pat, erin)',
    )
    .option('--no-open', 'do not try to open a browser')
    .addHelpText(
      'after',
      examples([
        'breakglass login',
        'breakglass login --browser',
        'breakglass login --dev-user alice --server http://127.0.0.1:8787',
      ]),
    )
    .action(lazy(auth, (m) => m.login as never));

  withGlobals(program.command('logout'))
    .description('revoke the refresh token and forget the login and cached credentials')
    .addHelpText('after', examples(['breakglass logout']))
    .action(lazy(auth, (m) => m.logout as never));

  withGlobals(program.command('whoami'))
    .description('show who you are logged in as, your groups and what you may request or approve')
    .addHelpText('after', examples(['breakglass whoami', 'breakglass whoami --json | jq .groups']))
    .action(lazy(auth, (m) => m.whoami as never));

  withGlobals(program.command('token'))
    .description('print the current access token (refreshed if needed), for scripts')
    .addHelpText(
      'after',
      examples(['curl -H "Authorization: Bearer $(breakglass token)" http://127.0.0.1:8787/v1/me']),
    )
    .action(lazy(auth, (m) => m.token as never));

  withGlobals(program.command('roles'))
    .description('list the roles you may request, with their limits')
    .addHelpText('after', examples(['breakglass roles', 'breakglass roles --json']))
    .action(lazy(requests, (m) => m.roles as never));

  withGlobals(program.command('request').argument('[role]', 'role id (asked for on a terminal when omitted)'))
    .description('ask for a role for a limited time; --wait follows it until it is active')
    .option('-d, --duration <duration>', "how long, e.g. 90m, 1h30m, 2h (default: the role's default)")
    .option('-r, --reason <text>', 'why you need it (required)')
    .option('-t, --ticket <id>', 'incident ticket, e.g. INC-123')
    .option('--start <time>', 'start later: an ISO 8601 time or a delay such as 30m')
    .option('--emergency', 'self-activate now where the role allows it (reviewed afterwards)')
    .option('-w, --wait', 'wait and show approvals until the grant is active, denied or timed out')
    .addHelpText(
      'after',
      examples([
        'breakglass request prod-readonly --duration 2h --reason "look at the incident"',
        'breakglass request prod-admin -d 1h30m -t INC-42 -r "database failover" --wait',
        'breakglass request prod-admin --emergency -t INC-42 -r "outage, no approver awake"',
      ]),
    )
    .action(lazy(requests, (m) => m.request as never));

  withGlobals(program.command('status').argument('<id>', 'request id'))
    .description('show a request and its timeline')
    .option('-w, --wait', 'keep watching until it is active or finished')
    .addHelpText(
      'after',
      examples([
        'breakglass status req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
        'breakglass status req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --wait',
      ]),
    )
    .action(lazy(requests, (m) => m.status as never));

  withGlobals(program.command('list'))
    .description('list requests you can see')
    .option('--mine', 'only your own requests')
    .option('--approvable', 'only requests waiting for your approval')
    .addOption(new Option('--status <status>', 'only this status').choices([...REQUEST_STATUSES]))
    .option('--role <role>', 'only this role')
    .option('--limit <n>', 'page size, 1-100', '25')
    .option('--all', 'follow every page')
    .option('--cursor <cursor>', 'continue after the page that printed this cursor')
    .addHelpText(
      'after',
      examples([
        'breakglass list --approvable',
        'breakglass list --mine --status active',
        'breakglass list --role prod-admin --all --json',
      ]),
    )
    .action(lazy(requests, (m) => m.list as never));

  const decision = (
    name: 'approve' | 'deny' | 'cancel' | 'revoke' | 'extend' | 'review',
    description: string,
    configure: (command: Command) => Command,
    example: string[],
  ) =>
    configure(withGlobals(program.command(name).argument('<id>', 'request id')))
      .description(description)
      .addHelpText('after', examples(example))
      .action(
        act(ctx, async (c, id: string, options: object) => (await requests()).decide(c, name, id, options)),
      );

  decision(
    'approve',
    "approve someone else's pending request (or extension)",
    (c) => c.option('-c, --comment <text>', 'optional comment'),
    ['breakglass approve req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --comment "ok, INC-42"'],
  );
  decision(
    'deny',
    'deny a pending request (or extension)',
    (c) => c.option('-c, --comment <text>', 'why (required)'),
    ['breakglass deny req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --comment "use prod-readonly"'],
  );
  decision('cancel', 'withdraw your own request before it starts', (c) => c, [
    'breakglass cancel req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
  ]);
  decision(
    'revoke',
    'end an approved or active grant now',
    (c) => c.option('-r, --reason <text>', 'why (required)'),
    ['breakglass revoke req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --reason "incident resolved"'],
  );
  decision(
    'extend',
    'ask for more time on your active grant (needs the same approvals)',
    (c) =>
      c
        .option('-d, --duration <duration>', 'extra time, e.g. 30m (required)')
        .option('-r, --reason <text>', 'why (required)'),
    ['breakglass extend req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --duration 30m --reason "failover still running"'],
  );
  decision(
    'review',
    'record the post-review of an emergency grant',
    (c) =>
      c
        .addOption(
          new Option('--outcome <outcome>', 'acknowledged or flagged (required)').choices([
            'acknowledged',
            'flagged',
          ]),
        )
        .option('-c, --comment <text>', 'review notes (required)'),
    [
      'breakglass review req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --outcome acknowledged --comment "justified by INC-42"',
    ],
  );

  withGlobals(program.command('credentials').argument('[id]', 'request id of your active grant'))
    .description(
      'print AWS credentials as credential_process JSON (cached; re-checked with the server every 5 minutes)',
    )
    .option('--role <role>', 'use your active grant for this role instead of an id')
    .option('--refresh', 'ignore the cache and fetch new credentials')
    .addHelpText(
      'after',
      examples([
        'breakglass credentials --role prod-admin',
        'breakglass credentials req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
        '# in ~/.aws/config: credential_process = breakglass credentials --role prod-admin',
      ]),
    )
    .action(lazy(creds, (m) => m.credentials as never));

  withGlobals(program.command('profile').argument('<role>', 'role id'))
    .description('write a credential_process profile for a role into ~/.aws/config ($AWS_CONFIG_FILE)')
    .option('--name <profile>', 'profile name (default: breakglass-<role>)')
    .option('--region <region>', 'also set the profile region')
    .addHelpText(
      'after',
      examples([
        'breakglass profile prod-admin',
        'aws --profile breakglass-prod-admin sts get-caller-identity',
      ]),
    )
    .action(lazy(creds, (m) => m.profile as never));

  withGlobals(program.command('console').argument('<id>', 'request id of your active grant'))
    .description('open the AWS console for an active grant')
    .option('--print', 'print the sign-in URL instead of opening a browser (treat it as a secret)')
    .addHelpText(
      'after',
      examples([
        'breakglass console req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
        'breakglass console req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --print',
      ]),
    )
    .action(lazy(creds, (m) => m.openConsole as never));

  const auditCommand = withGlobals(program.command('audit'))
    .description('export and verify the audit log, review grant activity (auditors)')
    .addHelpText(
      'after',
      examples([
        'breakglass audit export --since 7d --out audit.jsonl',
        'breakglass audit verify audit.jsonl',
        'breakglass audit activity req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
      ]),
    );
  withGlobals(auditCommand.command('export'))
    .description('stream audit events to a file or stdout')
    .option('--since <time>', 'from this time (ISO 8601) or age (24h, 7d)')
    .option('--until <time>', 'up to this time (ISO 8601) or age')
    .addOption(
      new Option('--format <format>', 'jsonl (verifiable events), csv (one row per request) or ocsf')
        .choices(['jsonl', 'csv', 'ocsf'])
        .default('jsonl'),
    )
    .option('-o, --out <file>', 'write to this file (0600) instead of stdout')
    .addHelpText(
      'after',
      examples([
        'breakglass audit export --out audit.jsonl',
        'breakglass audit export --since 24h --format csv > requests.csv',
      ]),
    )
    .action(lazy(audit, (m) => m.auditExport as never));
  withGlobals(auditCommand.command('verify').argument('[path]', 'a JSONL export, or a bunker directory'))
    .description(
      'check chain, digests and signatures of an export, a bunker copy or (--live) the store against the bunker; prints the first bad seq',
    )
    .option('--keys <file>', "JWKS to trust (default: the server's keys pinned at first use)")
    .option('--allow-unsigned', 'pass, marked UNSIGNED, when no trusted signature covers the events')
    .option('--at <time>', 'judge the heartbeat at this time (ISO 8601 or an age such as 2h; default now)')
    .option('--allow-stale', 'pass, marked STALE, when the newest digest is older than the heartbeat allows')
    .option('--live', "ask the broker to compare its store with the bunker's objects and digests")
    .addHelpText(
      'after',
      examples([
        'breakglass audit verify audit.jsonl',
        'breakglass audit verify ./bunker-copy --at 2026-11-28T12:00:00Z',
        'breakglass audit verify --live',
      ]),
    )
    .action(lazy(audit, (m) => m.auditVerify as never));
  withGlobals(auditCommand.command('keys'))
    .description(
      "show the server's pinned and served audit keys; --accept pins the served ones after a rotation",
    )
    .option('--accept', 'trust the keys the server serves now')
    .addHelpText('after', examples(['breakglass audit keys', 'breakglass audit keys --accept']))
    .action(lazy(audit, (m) => m.auditKeys as never));

  withGlobals(auditCommand.command('activity').argument('<id>', 'request id of a grant'))
    .description("what was done with a grant: its CloudTrail calls and the security checklist's findings")
    .option(
      '--cloudtrail <location>',
      "read this copy of the organisation trail (a folder holding AWSLogs/, or s3://bucket/prefix with your AWS credentials) instead of the broker's",
    )
    .option('--delivery-delay <duration>', 'with --cloudtrail: how late log files may arrive (default 15m)')
    .option('--region <region...>', "with --cloudtrail: the trail's regions (default: every region folder)")
    .addHelpText(
      'after',
      examples([
        'breakglass audit activity req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D',
        'breakglass audit activity req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --cloudtrail ./org-trail --json',
        'breakglass audit activity req_01JD3Y7S5Q7W8X9Y0Z1A2B3C4D --cloudtrail s3://org-trail/security',
      ]),
    )
    .action(
      lazy(
        () => import('./commands/activity.js'),
        (m) => m.auditActivity as never,
      ),
    );

  const configCommand = withGlobals(program.command('config')).description('work with breakglass.yaml');
  withGlobals(
    configCommand
      .command('validate')
      .argument('[file]', 'config file (default: $BREAKGLASS_CONFIG, then ./breakglass.yaml)'),
  )
    .description('validate a config file and list every problem by path')
    .addHelpText('after', examples(['breakglass config validate breakglass.yaml']))
    .action(
      lazy(
        () => import('./commands/config.js'),
        (m) => m.configValidate as never,
      ),
    );

  withGlobals(program.command('doctor'))
    .description('preflight: can the broker assume every configured role? (uses your AWS credentials)')
    .option('--config <file>', 'config file (default: $BREAKGLASS_CONFIG, then ./breakglass.yaml)')
    .addHelpText(
      'after',
      examples([
        'breakglass doctor --config breakglass.yaml',
        'AWS_PROFILE=security-audit breakglass doctor --json',
      ]),
    )
    .action(
      lazy(
        () => import('./commands/misc.js'),
        (m) => m.doctor as never,
      ),
    );

  withGlobals(program.command('dev'))
    .description('run the local stack (same as `npm start`)')
    .addHelpText('after', examples(['breakglass dev', 'PORT=8788 BREAKGLASS_DATA_DIR=.bg2 breakglass dev']))
    .action(
      lazy(
        () => import('./commands/misc.js'),
        (m) => m.dev as never,
      ),
    );

  withGlobals(program.command('completion').argument('<shell>', 'bash, zsh or fish'))
    .description('print a shell completion script')
    .addHelpText(
      'after',
      examples([
        'eval "$(breakglass completion bash)"',
        'source <(breakglass completion zsh)',
        'breakglass completion fish | source',
      ]),
    )
    .action(
      act(ctx, async (c, shell: string) => {
        const { bashCompletion, fishCompletion, zshCompletion } = await import('./completion.js');
        const render = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion }[shell];
        if (!render) throw usage(`unknown shell "${shell}"`, 'choose bash, zsh or fish');
        c.stdout.write(render(completionTree(program)));
      }),
    );

  // Every command throws instead of exiting, tagged with its own name for the usage hint.
  const tag = (command: Command, path: string) => {
    command.exitOverride((error: CommanderError) => {
      throw Object.assign(error, { commandPath: path });
    });
    for (const sub of command.commands) tag(sub, `${path} ${sub.name()}`);
  };
  tag(program, 'breakglass');
  return program;
}

export function completionTree(command: Command): CompletionNode {
  return {
    name: command.name(),
    description: command.description(),
    options: command.options
      .filter((option) => option.long && option.long !== '--version')
      .map((option) => ({ flag: option.long!, description: option.description })),
    subcommands: command.commands.map(completionTree),
  };
}
