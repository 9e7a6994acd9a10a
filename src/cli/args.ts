/** The command line of `maintenance-mode`: the usage text, the options, and one parser with clear mistakes. */
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.js';
import { nearestName } from '../core/suggest.js';
import { UsageError } from './io.js';

/** The help text (`help`, `--help`; also printed, with the problem, on a usage error). */
export const USAGE = `Usage: maintenance-mode <command> [options]

Switch maintenance mode of a koa-maintenance-mode app, or show it.
  on  (also: yes, true, 1)   switch on, now or for --start/--end; while on, options edit the window and keep the rest
  off (also: no, false, 0)   switch off
  status                     show the state and every scope in maintenance
  history                    show the latest changes (who, when, how)
  why <path>                 which rule lets a request through or blocks it
  render                     write the maintenance page from the state, for a proxy to serve while the app is down
  fleet                      the instances serving the store: what each applied, runs and holds
  window add|list|rm [ID]    recurring windows: add (--rrule, --tz, --start, --duration), list them, remove ID
  upcoming                   the next occurrences of the recurring windows (--count N, default 10)
  run [on options] -- CMD    on, wait for every instance to apply it and drain, run CMD, then off (CMD's exit code)
  token create|list|revoke   API tokens for pipelines: create (--label, --allow, --scope, --ttl; printed once), list
                             them (never the token), revoke ID (refused on every instance from its next request)
  mcp                        a Model Context Protocol server over stdio for agents, acting with the token in
                             MAINTENANCE_MODE_TOKEN (its permissions and scope; writes need "confirm": true)
  help                       show this help

Options:
  --start TIME       start of the window: ISO-8601 (2030-01-31T02:00:00Z) or from now (+30m, +2h, +1d) (with on);
                     window add: the local time in --tz, HH:MM (from today on) or YYYY-MM-DDTHH:MM
  --end TIME         end of the window, the same forms; the page shows it and Retry-After uses it (with on)
  --message TEXT     message for the page and JSON answers (with on)
  --message-in L=TEXT  the message in language L, e.g. --message-in "de=Wartung bis 3 Uhr" (repeat for each;
                     --message is then the English one)
  --scope NAME       switch or show one scope (a part of the site or a tenant) instead of the whole site
  --read-only        block only writes (POST, PUT, PATCH, DELETE) (with on); --read-write blocks every method again
  --dry-run          rehearse: evaluate and report every rule, block nothing (with on); a plain "on" then makes it real
  --secret           generate a bypass secret for this window and print its URL (with on)
  --wait             after on, wait until every instance applied it and drained (exit 3 with who is behind) (with on)
  --timeout DUR      how long --wait and run wait for the fleet, and run tries to switch off, e.g. 2m (default 30s)
  --lease DUR        the state lapses unless renewed within DUR (run renews it while CMD runs), e.g. 60s (on, run)
  --keep-on-failure  run leaves maintenance on when CMD fails (exit code not 0)
  --limit N          how many changes history shows (default 20)
  --rrule RULE       window add: an RFC 5545 rule, e.g. "FREQ=WEEKLY;BYDAY=SU" or "FREQ=MONTHLY;BYDAY=2TU"
  --tz ZONE          window add: the IANA zone of the rule and --start, e.g. Europe/Berlin (default UTC)
  --duration DUR     window add: how long each occurrence lasts, e.g. 30m, 2h
  --id ID            window add: name the window (default generated)
  --count N          how many occurrences upcoming shows (default 10)
  --label TEXT       token create: what the token is for, e.g. deploy-bot (history records token:<label>)
  --allow LIST       token create: what it may do, some of on,off,windows,read
  --ttl DUR          token create: it expires after DUR, e.g. 30d, 12h (default: never)
  --out FILE, --json-out FILE, --locale L   where render writes the page and its JSON twin, and in which language
  --ip IP, --method M, --superuser, --staff, --user   the request that why evaluates
  -i, --interactive  ask before changing anything (declining exits 1, nothing changed)
  -c, --config FILE  .js, .cjs or .json file exporting MaintenanceService options, e.g. { "redisUrl": "redis://…" },
                     and optionally "maintenance": the middleware options that why and render use
  --json             print JSON
  -h, --help         show this help

A plain "on" while on makes a dry run real, starts a scheduled window now and revokes the window's bypass secret.
Examples:
  maintenance-mode on --message "Upgrading the database" --end +1h
  maintenance-mode on --start +12h --end +13h --message "Planned upgrade"      # a scheduled window
  maintenance-mode on --scope billing --read-only

Store: --config, else MAINTENANCE_MODE_REDIS_URL, else MAINTENANCE_MODE_POSTGRES_URL, else MAINTENANCE_MODE_STATE_FILE_PATH,
else ./maintenance_mode_state.json — the same default as the app's MaintenanceService.
Exit codes: 0 ok, 1 error, 2 usage, 3 on --wait: the fleet did not settle. run exits with CMD's code, or with
  75 the fleet did not settle: CMD was not started, and the state is put back (try again later)
  69 maintenance is STILL ON: putting the state back failed for --timeout (the message gives CMD's exit code)
  127 CMD is not an executable file or not on PATH: nothing was switched
  (codes from BSD sysexits, which commands seldom return; CMD ends with run, even when run is killed with -9)
`;

/** The options, as node:util parseArgs takes them. */
const OPTIONS = {
  start: { type: 'string' },
  end: { type: 'string' },
  message: { type: 'string' },
  'message-in': { type: 'string', multiple: true },
  scope: { type: 'string' },
  out: { type: 'string' },
  'json-out': { type: 'string' },
  locale: { type: 'string' },
  'read-only': { type: 'boolean' },
  'read-write': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  secret: { type: 'boolean' },
  interactive: { type: 'boolean', short: 'i' },
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
  ip: { type: 'string' },
  method: { type: 'string' },
  superuser: { type: 'boolean' },
  staff: { type: 'boolean' },
  user: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  lease: { type: 'string' },
  'keep-on-failure': { type: 'boolean' },
  label: { type: 'string' },
  allow: { type: 'string' },
  ttl: { type: 'string' },
  rrule: { type: 'string' },
  tz: { type: 'string' },
  duration: { type: 'string' },
  id: { type: 'string' },
  count: { type: 'string' },
} as const;

const COMMANDS = [
  'on',
  'off',
  'status',
  'history',
  'why',
  'render',
  'fleet',
  'run',
  'window',
  'upcoming',
  'token',
  'mcp',
  'help',
] as const;
/** What `token` does. */
const TOKEN_ACTIONS = ['create', 'list', 'revoke'];
/** What `window` does. */
const WINDOW_ACTIONS = ['add', 'list', 'rm'];
/** A command of the CLI. */
export type Command = (typeof COMMANDS)[number];
const ON = ['on', 'yes', 'true', '1'];
const OFF = ['off', 'no', 'false', '0'];

/** Options that belong to one command only, and the command(s) they go with. */
const ONLY: ReadonlyArray<[readonly (keyof typeof OPTIONS)[], readonly Command[]]> = [
  [
    ['end', 'message-in', 'read-write', 'secret', 'lease'],
    ['on', 'run'],
  ],
  [
    ['start', 'message', 'read-only', 'dry-run'],
    ['on', 'run', 'window'],
  ],
  [['rrule', 'tz', 'duration', 'id'], ['window']],
  [['count'], ['upcoming']],
  [['label', 'allow', 'ttl'], ['token']],
  [['wait'], ['on']],
  [['timeout'], ['on', 'run']],
  [['keep-on-failure'], ['run']],
  [['ip', 'method', 'superuser', 'staff', 'user'], ['why']],
  [['out', 'json-out', 'locale'], ['render']],
  [['limit'], ['history']],
  [['scope'], ['on', 'off', 'status', 'render', 'fleet', 'run', 'window', 'upcoming', 'token']],
];

/** The parsed command line. */
export type Parsed = ReturnType<typeof parseValues>['values'] & {
  readonly command: Command;
  readonly path?: string;
  /** `run`: the command after `--` and its arguments. */
  readonly cmd?: readonly string[];
  /** `--timeout`, `--lease` and `--ttl` in milliseconds. */
  readonly timeoutMs?: number;
  readonly leaseMs?: number;
  readonly ttlMs?: number;
};

function parseValues(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
}

/** node:util's parse errors in this CLI's words: the option named, and the nearest known one. */
function explain(err: unknown): never {
  const message = (err as Error).message;
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
  if (unknown) {
    const name = unknown[1].replace(/^-+/, '');
    const near = nearestName(name, Object.keys(OPTIONS));
    throw new UsageError(`unknown option ${unknown[1]}${near ? `, did you mean --${near}?` : '.'}`);
  }
  const needsValue = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (needsValue) throw new UsageError(`${needsValue[1]} needs a value.`);
  const ambiguous = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) {
    throw new UsageError(`${ambiguous[1]} needs a value; one that starts with a dash goes as ${ambiguous[1]}=VALUE.`);
  }
  const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
  if (noValue) throw new UsageError(`${noValue[1]} takes no value.`);
  throw new UsageError(message);
}

function commandOf(word: string | undefined): Command | undefined {
  const w = word?.toLowerCase();
  if (w === undefined) return undefined;
  if (ON.includes(w)) return 'on';
  if (OFF.includes(w)) return 'off';
  return COMMANDS.find((c) => c === w);
}

/** Parses `argv`; a mistake throws {@link UsageError} with what to type instead. */
export function parse(argv: readonly string[]): Parsed {
  const dashes = argv.indexOf('--');
  const cmd = dashes === -1 ? undefined : argv.slice(dashes + 1);
  let parsed: ReturnType<typeof parseValues>;
  try {
    parsed = parseValues(dashes === -1 ? argv : argv.slice(0, dashes));
  } catch (err) {
    explain(err);
  }
  const { values, positionals } = parsed;
  if (values.help) return { ...values, command: 'help' };
  const command = commandOf(positionals[0]);
  if (!command) {
    const near = positionals[0] === undefined ? undefined : nearestName(positionals[0], [...COMMANDS]);
    throw new UsageError(
      positionals.length === 0
        ? 'Expected a command: on, off, status, history, why, render or help.'
        : `Unknown command ${JSON.stringify(positionals[0])}${near ? `; did you mean "${near}"?` : '.'}`,
    );
  }
  checkArity(command, positionals);
  for (const [names, commands] of ONLY) {
    const misplaced = names.filter((k) => values[k] !== undefined);
    if (misplaced.length > 0 && !commands.includes(command)) {
      throw new UsageError(
        `--${misplaced.join(', --')} go${misplaced.length === 1 ? 'es' : ''} with "${commands.join('", "')}", not "${command}".`,
      );
    }
  }
  if (values.limit !== undefined && !/^\d+$/.test(values.limit)) throw new UsageError('--limit takes a whole number.');
  if (values.count !== undefined && !/^\d+$/.test(values.count)) throw new UsageError('--count takes a whole number.');
  if (values['read-only'] && values['read-write'])
    throw new UsageError('--read-only and --read-write exclude each other.');
  if (values.timeout !== undefined && command === 'on' && !values.wait)
    throw new UsageError('--timeout goes with --wait.');
  if (command === 'run' && (cmd === undefined || cmd.length === 0)) {
    throw new UsageError(
      'run needs the command after --, e.g. maintenance-mode run --message "Migrating" -- npm run migrate',
    );
  }
  if (command !== 'run' && cmd !== undefined)
    throw new UsageError(`"${command}" takes no command after --; did you mean run?`);
  return {
    ...values,
    command,
    path: positionals[1],
    ...((command === 'window' || command === 'token') && positionals[2] !== undefined ? { id: positionals[2] } : {}),
    cmd,
    timeoutMs: durationOf('--timeout', values.timeout),
    leaseMs: durationOf('--lease', values.lease),
    ttlMs: durationOf('--ttl', values.ttl),
  };
}

/** A duration option in milliseconds (`30s`, `2m`), or a usage error naming it. */
function durationOf(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms === 0) {
    throw new UsageError(`${option} takes a duration such as 30s, 2m or 1h; received ${JSON.stringify(text)}.`);
  }
  return ms;
}

/** The commands that take an action word (`window add`, `token revoke ID`): the actions, the one taking an id, the usage. */
const ACTION_COMMANDS: Partial<
  Record<Command, { actions: readonly string[]; withId: string; usage: string; idNeeded: string }>
> = {
  window: {
    actions: WINDOW_ACTIONS,
    withId: 'rm',
    usage: 'Usage: maintenance-mode window add --rrule R --start T --duration D | window list | window rm ID',
    idNeeded: 'window rm takes the id of one window.',
  },
  token: {
    actions: TOKEN_ACTIONS,
    withId: 'revoke',
    usage:
      'Usage: maintenance-mode token create --label L --allow on,off,windows,read [--scope S] [--ttl 30d] | token list | token revoke ID',
    idNeeded: 'token revoke takes the id of one token (token list shows them).',
  },
};

function checkArity(command: Command, positionals: readonly string[]): void {
  const actionCommand = ACTION_COMMANDS[command];
  if (actionCommand) {
    const action = positionals[1];
    if (!action || !actionCommand.actions.includes(action)) throw new UsageError(actionCommand.usage);
    if (action === actionCommand.withId ? positionals.length !== 3 : positionals.length !== 2) {
      throw new UsageError(
        action === actionCommand.withId ? actionCommand.idNeeded : `${command} ${action} takes no argument.`,
      );
    }
    return;
  }
  if (command === 'why') {
    if (positionals.length !== 2) {
      throw new UsageError('Usage: maintenance-mode why <path> [--ip IP] [--method M] [--superuser|--staff|--user]');
    }
    if (!positionals[1].startsWith('/')) throw new UsageError('why takes a path starting with "/".');
    return;
  }
  if (positionals.length !== 1) throw new UsageError(`"${command}" takes no argument.`);
}
