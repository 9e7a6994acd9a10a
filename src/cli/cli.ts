/**
 * The `maintenance-mode` command: `main(argv, io)` returns the exit code; `bin.ts` is the one-line process shell. The
 * shared parsing is `args.ts`, the shared output `output.ts`, and each command is a file of `commands/`.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MaintenanceOptions } from '../koa/options.js';
import { MaintenanceService } from '../service/service.js';
import type { MaintenanceServiceOptions } from '../service/service-options.js';
import { selectStore } from '../store/select-store.js';
import { type Parsed, parse, USAGE } from './args.js';
import { fleet } from './commands/fleet.js';
import { history } from './commands/history.js';
import { mcp } from './commands/mcp.js';
import { render } from './commands/render.js';
import { run } from './commands/run.js';
import { status } from './commands/status.js';
import { toggle } from './commands/toggle.js';
import { token } from './commands/token.js';
import { why } from './commands/why.js';
import { upcoming, window } from './commands/window.js';
import { loadConfig } from './config.js';
import { type CliIo, EXIT, processIo, UsageError } from './io.js';

export { USAGE } from './args.js';
export type { CliIo } from './io.js';
export { EXIT, processIo } from './io.js';

/** How long the CLI waits for the store to close gracefully before dropping its connections. */
const CLOSE_TIMEOUT_MS = 250;

/**
 * The service of the command line: the store `selectStore()` picks from the config, this process's environment and
 * working directory — the choice the app's service makes from the same options and environment.
 */
function serviceFor(config: MaintenanceServiceOptions, io: CliIo): MaintenanceService {
  const silent = { warn: () => undefined };
  return new MaintenanceService({ ...config, ...selectStore(config, io.env, io.cwd), logger: silent });
}

/** A state file in a directory that does not exist is a mistyped path: said, not read as "off". */
function checkStateDirectory(service: MaintenanceService): void {
  const file = service.config.stateFilePath;
  if (file === undefined || service.config.store !== undefined || existsSync(dirname(file))) return;
  throw new Error(
    `The state file's directory ${dirname(file)} does not exist, so nothing is stored at ${file}. Check the path ` +
      '(stateFilePath / MAINTENANCE_MODE_STATE_FILE_PATH, or --config) against the one the app uses, or create the directory.',
  );
}

async function dispatch(p: Parsed, service: MaintenanceService, io: CliIo, options: MaintenanceOptions | undefined) {
  checkStateDirectory(service);
  if (p.command === 'history') return history(p, service, io);
  if (p.command === 'fleet') return fleet(p, service, io);
  if (p.command === 'window') return window(p, service, io);
  if (p.command === 'upcoming') return upcoming(p, service, io);
  if (p.command === 'token') return token(p, service, io);
  if (p.command === 'mcp') return mcp(p, service, io);
  if (p.command === 'run') return run(p, service, io, await service.storedStateForSwitch(p.scope));
  if (p.command === 'on' || p.command === 'off') return toggle(p, service, io);
  const current = await service.getStoredState(p.scope);
  if (p.command === 'why') return why(p, current, io, options);
  if (p.command === 'status') return status(p, service, io, await service.stateInForceNow(p.scope));
  return render(p, service, io, { current, options });
}

/** A usage mistake: its one line and where the help is (the whole usage only when no command was given at all). */
function usageError(io: CliIo, err: Error, argv: readonly string[]): number {
  io.stderr.write(argv.length === 0 ? `${err.message}\n\n${USAGE}` : `${err.message}\nSee: maintenance-mode help\n`);
  return EXIT.usage;
}

/**
 * Runs the CLI and returns its exit code: 0 ok, 1 error (`Error: …` on stderr), 2 usage.
 * @example process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    return usageError(io, err as Error, argv);
  }
  if (parsed.command === 'help') {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  let service: MaintenanceService | undefined;
  try {
    const { maintenance: options, ...config } = parsed.config ? loadConfig(parsed.config, io.cwd) : {};
    service = serviceFor(config, io);
    return await dispatch(parsed, service, io, options);
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err, argv);
    io.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.error;
  } finally {
    // Short: a CLI run ends within storeTimeoutMs and this, however stalled the store (then its connections drop).
    await service?.close({ timeoutMs: CLOSE_TIMEOUT_MS });
  }
}
