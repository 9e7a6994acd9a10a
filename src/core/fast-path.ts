/**
 * The middleware's shortcut past {@link decide}: when a request may pass with the `state-off` decision before any fact
 * about it is gathered (no path parsing, no bypass door, no route look-up, no allocation). It lives beside decide()
 * because it is a claim about decide() — under the state in force, every request gets `STATE_OFF` — and about the
 * middleware's work around it: the bypass door (`/<secret>`), health paths, announcements and forced routes answer
 * whatever decide() says, so while any of them can apply the shortcut is not taken. test/fast-path.test.ts drives
 * these conditions and decide() over one table of requests × states × setups and proves they agree.
 */
import { isActive, type MaintenanceState } from './state.js';

/** What one `maintenance()` setup says about the shortcut: fixed when it is built, plus what it reads per request. */
export interface ShortcutSetup {
  /**
   * Nothing but the states can stop or answer a request: no `healthPaths` (decide()'s first rule, and answered by the
   * middleware when the app does not) and no `bypass` option (its `/<secret>` door answers whatever the state).
   */
  readonly direct: boolean;
  /** `announceBeforeSeconds` in milliseconds (0: off): a scheduled state due within it is announced to requests. */
  readonly announceMs: number;
  /**
   * Whether any route of the process is tagged (`forceMaintenance`, `@ForceMaintenance`, the toggle routes' `off`
   * URL): then a request's route may force a decision, and it must be looked up. Read per request (routes are
   * tagged when routers are built, which may be after `maintenance()`).
   */
  readonly taggedRoutes: () => boolean;
  /** The clock; read only for a scheduled state (one switched on without a start is active at once). */
  readonly now: () => Date;
}

/** The options of a setup that {@link ShortcutSetup} is made from (a part of `maintenance()`'s resolved options). */
export interface ShortcutOptions {
  readonly healthPaths: readonly string[];
  readonly bypass?: unknown;
  readonly announceBeforeSeconds: number;
}

/** The shortcut's conditions for a setup of `options`, reading tagged routes and the clock through the given functions. */
export function shortcutSetup(
  options: ShortcutOptions,
  reads: Pick<ShortcutSetup, 'taggedRoutes' | 'now'>,
): ShortcutSetup {
  return {
    direct: options.healthPaths.length === 0 && options.bypass === undefined,
    announceMs: options.announceBeforeSeconds * 1000,
    taggedRoutes: reads.taggedRoutes,
    now: reads.now,
  };
}

/**
 * Whether every request passes with `STATE_OFF` under `state` (the state in force), so the middleware may let one
 * through without looking at it: a direct setup, no window secret, no tagged route, and the state disabled — or
 * scheduled and not active yet (a recurring window's next occurrence) when no announcement is due for it.
 */
export function passesUnseen(setup: ShortcutSetup, state: MaintenanceState): boolean {
  if (!setup.direct || state.bypassHash !== undefined || setup.taggedRoutes()) return false;
  if (!state.enabled) return true;
  return setup.announceMs === 0 && state.start !== undefined && !isActive(state, setup.now());
}

/**
 * {@link passesUnseen} for a request of a scope: only when the scope has no stored state (`scoped` undefined), so the
 * global state is the state in force (`stateInForce`), and it lets every request through.
 */
export function passesUnseenInScope(
  setup: ShortcutSetup,
  global: MaintenanceState,
  scoped: MaintenanceState | undefined,
): boolean {
  return scoped === undefined && passesUnseen(setup, global);
}
