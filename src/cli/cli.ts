/** The `maintenance-mode` command: `main(argv, io)` returns the exit code; `bin.ts` is the one-line process shell. */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { extname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { hashSecret } from '../core/bypass.js';
import type { MaintenanceUser } from '../core/decide.js';
import { decide } from '../core/decide.js';
import { MaintenanceError } from '../core/errors.js';
import { normalizeIp } from '../core/ip.js';
import { compileRules, normalizePath } from '../core/rules.js';
import { stateInForce } from '../core/scope.js';
import { isActive, type MaintenanceState } from '../core/state.js';
import { scopesBody, statusBody } from '../core/status.js';
import { type MaintenanceOptions, resolveOptions } from '../koa/options.js';
import { createRenderer } from '../koa/render.js';
import { staticAnswer } from '../koa/respond.js';
import { MaintenanceService } from '../service/service.js';
import { type MaintenanceServiceOptions, resolveServiceOptions } from '../service/service-options.js';
import { writeFileAtomic } from '../store/file-store.js';

/** Where the CLI reads and writes; `process` by default, fakes in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly stdin?: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** The real process as {@link CliIo}. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Exit codes of the CLI. */
export const EXIT = Object.freeze({ ok: 0, error: 1, usage: 2 });

/** The help text (`--help`; also printed, with the problem, on a usage error). */
export const USAGE = `Usage: maintenance-mode <on|off|status|history|why|render> [options]

Switch maintenance mode of a koa-maintenance-mode app, or show it.
  on  (also: yes, true, 1)   switch on, now or for --start/--end
  off (also: no, false, 0)   switch off
  status                     show the state and every scope in maintenance
  history                    show the latest changes (who, when, how)
  why <path>                 which rule lets a request through or blocks it
  render                     write the maintenance page from the state, for a proxy to serve while the app is down

Options:
  --start ISO        start of the window, e.g. 2026-12-01T02:00:00Z (with on)
  --end ISO          end of the window; the page shows it and Retry-After uses it (with on)
  --message TEXT     message for the page and JSON answers (with on)
  --message-in L=TEXT  the message in language L, e.g. --message-in "de=Wartung bis 3 Uhr" (repeat for each;
                     --message is then the English one)
  --scope NAME       switch or show one scope (a part of the site or a tenant) instead of the whole site
  --read-only        block only writes (POST, PUT, PATCH, DELETE) (with on)
  --dry-run          rehearse: evaluate and report every rule, block nothing (with on)
  --secret           generate a bypass secret for this window and print its URL (with on)
  --limit N          how many changes history shows (default 20)
  --out FILE, --json-out FILE, --locale L   where render writes the page and its JSON twin, and in which language
  --ip IP, --method M, --superuser, --staff, --user   the request that why evaluates
  -i, --interactive  ask before changing anything (declining exits 1, nothing changed)
  -c, --config FILE  .js, .cjs or .json file exporting MaintenanceService options, e.g. { "redisUrl": "redis://…" },
                     and optionally "maintenance": the middleware options that why evaluates
  --json             print JSON
  -h, --help         show this help

Store: --config, else MAINTENANCE_MODE_REDIS_URL, else MAINTENANCE_MODE_POSTGRES_URL, else MAINTENANCE_MODE_STATE_FILE_PATH,
else ./maintenance_mode_state.json — the same default as the app's MaintenanceService.
Exit codes: 0 ok, 1 error, 2 usage.
`;

/** How long the CLI waits for the store to close gracefully before dropping its connections. */
const CLOSE_TIMEOUT_MS = 250;

const ON = ['on', 'yes', 'true', '1'];
const OFF = ['off', 'no', 'false', '0'];

class UsageError extends Error {}

function loadConfig(file: string, cwd: string): MaintenanceServiceOptions {
  const path = resolve(cwd, file);
  if (!existsSync(path))
    throw new MaintenanceError('ERR_MAINTENANCE_INVALID_OPTION', `--config file ${path} does not exist.`);
  const ext = extname(path).toLowerCase();
  if (!['.js', '.cjs', '.json'].includes(ext)) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      `--config must be a .js, .cjs or .json file; received ${path}.`,
    );
  }
  let loaded: unknown;
  try {
    loaded = require(path);
  } catch (err) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      `--config file ${path} cannot be loaded: ${(err as Error).message}`,
    );
  }
  const options = (loaded as { default?: unknown })?.default ?? loaded;
  if (typeof options !== 'object' || options === null) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      `--config file ${path} must export an options object.`,
    );
  }
  return options as MaintenanceServiceOptions;
}

/** `why <path>`: the rules of the config's `maintenance` options against the stored state, offline. */
function why(p: ReturnType<typeof parse>, state: MaintenanceState, io: CliIo, options: MaintenanceOptions | undefined) {
  const config = resolveOptions(options ?? {});
  const path = normalizePath(p.path as string);
  const user: MaintenanceUser | undefined = p.superuser
    ? { isSuperuser: true, isStaff: true }
    : p.staff
      ? { isStaff: true }
      : p.user
        ? { isAuthenticated: true }
        : undefined;
  const method = (p.method ?? 'GET').toUpperCase();
  const decision = decide(
    {
      path,
      host: '',
      method,
      ip: p.ip ? normalizeIp(p.ip) : undefined,
      user,
      nodeEnv: io.env.NODE_ENV,
      isHealthPath: config.healthPaths.includes(path),
    },
    state,
    config,
    compileRules(config),
    new Date(),
  );
  if (p.json) {
    io.stdout.write(`${JSON.stringify({ path, method, blocked: decision.blocked, rule: decision.rule })}\n`);
  } else {
    const who = user ? (p.superuser ? ' as a superuser' : p.staff ? ' as staff' : ' as a signed-in user') : '';
    const from = p.ip ? ` from ${p.ip}` : '';
    const verdict = decision.blocked ? 'is blocked' : 'passes';
    io.stdout.write(`${method} ${path}${who}${from} ${verdict} (rule: ${decision.rule}).\n`);
    if (!options) io.stdout.write('Note: no "maintenance" options in --config; the defaults were used.\n');
    io.stdout.write('Routes forced with forceMaintenance/@ForceMaintenance live in the app and are not seen here.\n');
  }
  return EXIT.ok;
}

function describe(state: MaintenanceState, now: Date): string {
  const active = isActive(state, now);
  const parts: string[] = [];
  if (state.enabled && !active && state.start && Date.parse(state.start) > now.getTime()) {
    parts.push(`scheduled from ${state.start}${state.end ? ` to ${state.end}` : ''}`);
  } else if (active && state.end) parts.push(`until ${state.end}`);
  if (active && state.dryRun) parts.push('dry run: nothing is blocked');
  if (state.message) parts.push(`message: ${JSON.stringify(state.message)}`);
  if (state.updatedAt) parts.push(`changed ${state.updatedAt}${state.updatedBy ? ` by ${state.updatedBy}` : ''}`);
  return `${active ? 'on' : 'off'}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

/** `--message TEXT` alone, or with `--message-in de=TEXT …` one text per language (`--message` is the English one). */
function messageOf(p: Parsed): string | Record<string, string> | undefined {
  const pairs = p['message-in'] ?? [];
  if (pairs.length === 0) return p.message;
  const texts: Record<string, string> = p.message === undefined ? {} : { en: p.message };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1)
      throw new UsageError(
        `--message-in takes LOCALE=TEXT, e.g. --message-in "de=Wartung bis 3 Uhr"; received ${JSON.stringify(pair)}.`,
      );
    texts[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return texts;
}

/** Who runs the CLI: `USER`/`USERNAME`, else the OS account (containers and CI often set neither variable). */
function accountName(io: CliIo): string {
  const fromEnv = io.env.USER || io.env.USERNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    // no passwd entry for this uid (some containers): the uid still says who it was
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.stdin) return false;
  io.stdout.write(question);
  const rl = createInterface({ input: io.stdin, terminal: false });
  const answer = await new Promise<string>((done) => {
    rl.once('line', done);
    rl.once('close', () => done(''));
  });
  rl.close();
  return /^\s*y(es)?\s*$/i.test(answer);
}

/**
 * Runs the CLI and returns its exit code: 0 ok, 1 error (`Error: …` on stderr), 2 usage.
 * @example process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (parsed.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  let service: MaintenanceService | undefined;
  try {
    const { maintenance: middlewareOptions, ...config } = (
      parsed.config ? loadConfig(parsed.config, io.cwd) : {}
    ) as MaintenanceServiceOptions & { maintenance?: MaintenanceOptions };
    const silent = { warn: () => undefined };
    // Same resolution as the app's service (config, then env, then ./maintenance_mode_state.json), but from io.
    const resolved = resolveServiceOptions({ ...config, logger: silent }, io.env, io.cwd, silent);
    const source = resolved.store
      ? { store: resolved.store }
      : resolved.redisUrl
        ? { redisUrl: resolved.redisUrl }
        : resolved.postgresUrl
          ? { postgresUrl: resolved.postgresUrl }
          : { stateFilePath: resolved.stateFilePath };
    service = new MaintenanceService({ ...config, ...source, logger: silent } as MaintenanceServiceOptions);
    return await run(parsed, service, io, middlewareOptions);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`Error: ${message}\n`);
    return EXIT.error;
  } finally {
    // Short: a CLI run ends within storeTimeoutMs and this, however stalled the store (then its connections drop).
    await service?.close({ timeoutMs: CLOSE_TIMEOUT_MS });
  }
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      start: { type: 'string' },
      end: { type: 'string' },
      message: { type: 'string' },
      'message-in': { type: 'string', multiple: true },
      scope: { type: 'string' },
      out: { type: 'string' },
      'json-out': { type: 'string' },
      locale: { type: 'string' },
      'read-only': { type: 'boolean' },
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
    },
  });
  if (values.help) return { ...values, command: 'help' as const, path: undefined };
  const word = positionals[0]?.toLowerCase();
  const command = ON.includes(word)
    ? 'on'
    : OFF.includes(word)
      ? 'off'
      : (['status', 'history', 'why', 'render'] as const).find((c) => c === word);
  if (!command) {
    throw new UsageError(
      positionals.length === 0
        ? 'Expected a command: on, off, status, history, why or render.'
        : `Unknown command ${JSON.stringify(positionals[0])}.`,
    );
  }
  const expected = command === 'why' ? 2 : 1;
  if (positionals.length !== expected) {
    throw new UsageError(
      command === 'why'
        ? 'Usage: maintenance-mode why <path> [--ip IP] [--method M] [--superuser|--staff|--user]'
        : `"${command}" takes no argument.`,
    );
  }
  const onOnly = ['start', 'end', 'message', 'message-in', 'read-only', 'dry-run', 'secret'] as const;
  const misplaced = onOnly.filter((k) => values[k] !== undefined);
  if (command !== 'on' && misplaced.length > 0) {
    throw new UsageError(`--${misplaced.join(', --')} go with "on", not "${command}".`);
  }
  const whyOnly = ['ip', 'method', 'superuser', 'staff', 'user'] as const;
  const notWhy = whyOnly.filter((k) => values[k] !== undefined);
  if (command !== 'why' && notWhy.length > 0) throw new UsageError(`--${notWhy.join(', --')} go with "why".`);
  if (values.limit !== undefined && (command !== 'history' || !/^\d+$/.test(values.limit))) {
    throw new UsageError('--limit takes a whole number and goes with "history".');
  }
  if (command === 'why' && !positionals[1].startsWith('/')) throw new UsageError('why takes a path starting with "/".');
  if (values.scope !== undefined && (command === 'history' || command === 'why')) {
    throw new UsageError('--scope goes with "on", "off", "status" or "render".');
  }
  const renderOnly = (['out', 'json-out', 'locale'] as const).filter((k) => values[k] !== undefined);
  if (command !== 'render' && renderOnly.length > 0)
    throw new UsageError(`--${renderOnly.join(', --')} go with "render".`);
  return { ...values, command, path: positionals[1] };
}

type Parsed = ReturnType<typeof parse>;

/** Prints a state as a line, or with --json as its status (plus `extra`) and the store. */
function printer(p: Parsed, service: MaintenanceService, io: CliIo) {
  return (state: MaintenanceState, line: string, extra: object = {}) => {
    if (!p.json) {
      io.stdout.write(`${line}\n`);
      return;
    }
    const body = { ...statusBody(state, new Date()), ...extra, store: service.storeDescription };
    io.stdout.write(`${JSON.stringify(body)}\n`);
  };
}

async function history(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  const entries = await service.history(p.limit === undefined ? 20 : Number(p.limit));
  if (p.json) io.stdout.write(`${JSON.stringify(entries)}\n`);
  else if (entries.length === 0) io.stdout.write('No changes recorded yet.\n');
  else {
    for (const e of entries) {
      const text = typeof e.message === 'object' ? JSON.stringify(e.message) : e.message;
      const message = text ? ` "${text}"` : '';
      const scope = e.scope ? ` [scope ${e.scope}]` : '';
      io.stdout.write(`${e.at}  ${e.from} -> ${e.to}${scope}  by ${e.by ?? 'unknown'} via ${e.source}${message}\n`);
    }
  }
  return EXIT.ok;
}

/** `status`: the global state (or --scope's) and every scope in maintenance. */
async function status(p: Parsed, service: MaintenanceService, io: CliIo, current: MaintenanceState): Promise<number> {
  const now = new Date();
  const where = p.scope ? ` for scope ${p.scope}` : '';
  const scopes = p.scope ? [] : await service.scopes();
  if (p.json) {
    const extra = p.scope ? { scope: p.scope } : { scopes: scopesBody(scopes, now) };
    printer(p, service, io)(current, '', extra);
    return EXIT.ok;
  }
  io.stdout.write(`Maintenance mode${where} is ${describe(current, now)}. State: ${service.storeDescription}.\n`);
  if (scopes.length > 0) io.stdout.write(`Scopes in maintenance (${scopes.length}):\n`);
  for (const { scope, state } of scopes) io.stdout.write(`  ${scope}: ${describe(state, now)}\n`);
  return EXIT.ok;
}

/**
 * `render`: the maintenance page (and its JSON twin) from the stored state as static files, for a reverse proxy to
 * serve while the app itself is down; without --out the page goes to stdout. Uses the config's `maintenance` options
 * (template, viewsDir, translations, retryAfter, …).
 */
async function renderStatic(
  p: Parsed,
  service: MaintenanceService,
  io: CliIo,
  current: MaintenanceState,
  options: MaintenanceOptions | undefined,
): Promise<number> {
  const config = resolveOptions({ ...(options ?? {}), service });
  const lang = p.locale ?? config.defaultLocale;
  if (!config.locales.includes(lang)) {
    throw new UsageError(`--locale must be one of ${config.locales.join(', ')}; received ${JSON.stringify(lang)}.`);
  }
  const global = p.scope ? await service.getStoredState() : current;
  const state = p.scope ? stateInForce(global, current, p.scope, new Date()).state : current;
  const answer = staticAnswer(config, createRenderer(config), state, lang, new Date());
  if (p.out === undefined && p['json-out'] === undefined) {
    io.stdout.write(answer.html);
    return EXIT.ok;
  }
  for (const [file, text] of [
    [p.out, answer.html],
    [p['json-out'], answer.json],
  ] as const) {
    if (file === undefined) continue;
    const path = resolve(io.cwd, file);
    await writeFileAtomic(path, text);
    io.stdout.write(`Wrote ${path} (${Buffer.byteLength(text)} bytes).\n`);
  }
  if (answer.retryAfter) io.stdout.write(`Serve it with status 503 and Retry-After: ${answer.retryAfter}\n`);
  return EXIT.ok;
}

/**
 * `on` / `off`, with --scope, the window options and --interactive. `current` is undefined when the stored state is
 * unreadable (corrupt): the switch overwrites it.
 */
async function toggle(
  p: Parsed,
  service: MaintenanceService,
  io: CliIo,
  current: MaintenanceState | undefined,
): Promise<number> {
  const print = printer(p, service, io);
  const target = p.command === 'on';
  const where = p.scope ? ` for scope ${p.scope}` : '';
  // Options of `on` change the window even when maintenance is already on (new message, secret, read-only, …).
  const changes = [p.start, p.end, p.message, p['message-in'], p.secret, p['read-only'], p['dry-run']].some(
    (v) => v !== undefined,
  );
  // A plain `on` never carries a window's bypass secret forward: it revokes it (and the cookies made from it).
  const revokes = target && current?.bypassHash !== undefined;
  const already =
    current !== undefined && !revokes && (target ? isActive(current, new Date()) && !changes : !current.enabled);
  if (current === undefined && !p.json) {
    io.stdout.write(`The stored state${where} is unreadable (corrupt); switching overwrites it.\n`);
  }
  if (already) {
    print(current, `Maintenance mode${where} is already ${target ? 'on' : 'off'}. Nothing changed.`, {
      changed: false,
    });
    return EXIT.ok;
  }
  const question = `Switch maintenance mode${where} ${target ? 'on' : 'off'} in ${service.storeDescription}? [y/N] `;
  if (p.interactive && !(await confirm(io, question))) {
    io.stderr.write('Error: declined at the prompt; nothing changed.\n');
    return EXIT.error;
  }
  const by = `cli:${accountName(io)}`;
  // A fresh secret for this window: only its hash is stored; the secret is shown once, here.
  const secret = target && p.secret ? randomBytes(16).toString('hex') : undefined;
  if (target) {
    await service.enable({
      start: p.start,
      end: p.end,
      message: messageOf(p),
      readOnly: p['read-only'] === true ? true : undefined,
      dryRun: p['dry-run'] === true ? true : undefined,
      bypassHash: secret ? hashSecret(secret) : undefined,
      by,
      source: 'cli',
      scope: p.scope,
    });
  } else await service.disable({ by, source: 'cli', scope: p.scope });
  const state = await service.stateAfterWrite(p.scope);
  print(state, `Maintenance mode${where} is now ${describe(state, new Date())}.`, {
    changed: true,
    ...(p.scope ? { scope: p.scope } : {}),
    ...(secret ? { bypassPath: `/${secret}` } : {}),
  });
  if (revokes && !secret && !p.json) {
    io.stdout.write("The previous window's bypass secret is revoked: its link and cookies no longer work.\n");
  }
  if (secret && !p.json) {
    io.stdout.write(
      `Bypass: open https://<your-site>/${secret} to get through (or send x-maintenance-bypass: ${secret}).\n`,
    );
  }
  return EXIT.ok;
}

async function run(
  p: Parsed,
  service: MaintenanceService,
  io: CliIo,
  middlewareOptions: MaintenanceOptions | undefined,
): Promise<number> {
  if (p.command === 'history') return history(p, service, io);
  if (p.command === 'on' || p.command === 'off')
    return toggle(p, service, io, await service.storedStateForSwitch(p.scope));
  const current = await service.getStoredState(p.scope);
  if (p.command === 'why') return why(p, current, io, middlewareOptions);
  if (p.command === 'status') return status(p, service, io, current);
  return renderStatic(p, service, io, current, middlewareOptions);
}
