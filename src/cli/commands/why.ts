/** `why <path>`: which rule of the config's `maintenance` options decides a request, against the stored state. */
import { decide, type MaintenanceUser } from '../../core/decide.js';
import { normalizeIp } from '../../core/ip.js';
import { compileRules, normalizePath } from '../../core/rules.js';
import type { MaintenanceState } from '../../core/state.js';
import { type MaintenanceOptions, resolveOptions } from '../../koa/options.js';
import type { Parsed } from '../args.js';
import { type CliIo, EXIT } from '../io.js';

function userOf(p: Parsed): MaintenanceUser | undefined {
  if (p.superuser) return { isSuperuser: true, isStaff: true };
  if (p.staff) return { isStaff: true };
  return p.user ? { isAuthenticated: true } : undefined;
}

/** Evaluates the request the options describe, offline, and says what decides it. */
export function why(p: Parsed, state: MaintenanceState, io: CliIo, options: MaintenanceOptions | undefined): number {
  const config = resolveOptions(options ?? {});
  const path = normalizePath(p.path as string);
  const user = userOf(p);
  const method = (p.method ?? 'GET').toUpperCase();
  const facts = {
    path,
    host: '',
    method,
    ip: p.ip ? normalizeIp(p.ip) : undefined,
    user,
    nodeEnv: io.env.NODE_ENV,
    isHealthPath: config.healthPaths.includes(path),
  };
  const decision = decide(facts, state, { config, rules: compileRules(config) }, new Date());
  const wouldBlock = decision.blocked ? undefined : decision.wouldBlock;
  if (p.json) {
    const would = wouldBlock === undefined ? {} : { wouldBlock };
    io.stdout.write(`${JSON.stringify({ path, method, blocked: decision.blocked, rule: decision.rule, ...would })}\n`);
    return EXIT.ok;
  }
  const who = user ? (p.superuser ? ' as a superuser' : p.staff ? ' as staff' : ' as a signed-in user') : '';
  const from = p.ip ? ` from ${p.ip}` : '';
  const verdict =
    wouldBlock !== undefined
      ? `passes: this is a dry run; it would be blocked (rule: ${wouldBlock})`
      : `${decision.blocked ? 'is blocked' : 'passes'} (rule: ${decision.rule})`;
  io.stdout.write(`${method} ${path}${who}${from} ${verdict}.\n`);
  if (!options) io.stdout.write('Note: no "maintenance" options in --config; the defaults were used.\n');
  io.stdout.write('Routes forced with forceMaintenance/@ForceMaintenance live in the app and are not seen here.\n');
  return EXIT.ok;
}
