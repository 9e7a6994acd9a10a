/** The maintenance decision: a pure function of request facts, state, options, rules and `now`. No Koa, no I/O. */
import type { BypassRules } from './rules.js';
import { isActive, type MaintenanceState } from './state.js';

/** What `getUser` returns; every flag is optional and only `true` counts (an object without flags is authenticated). */
export interface MaintenanceUser {
  /** @default true when a user object is present */
  readonly isAuthenticated?: boolean;
  /** @default false */
  readonly isStaff?: boolean;
  /** @default false */
  readonly isSuperuser?: boolean;
}

/** The resolved options the decision reads (a part of `maintenance()`'s resolved options). */
export interface DecisionConfig {
  readonly ignoreAnonymousUser: boolean;
  readonly ignoreAuthenticatedUser: boolean;
  readonly ignoreStaff: boolean;
  readonly ignoreSuperuser: boolean;
  readonly logoutAuthenticatedUser: boolean;
  readonly logoutStaffUser: boolean;
  readonly logoutSuperuser: boolean;
  readonly ignoreAdminSite: boolean;
  readonly ignoreTests: boolean;
  readonly redirectUrl?: string;
}

/** What the decision needs to know about one request; gathered by the middleware (one object, never positional). */
export interface RequestFacts {
  /** Normalised request path (see `normalizePath`). */
  readonly path: string;
  /** `Host` of the request, for an absolute `redirectUrl`. */
  readonly host: string;
  /** Client address, normalised. */
  readonly ip?: string;
  /** The request's user, when a user rule needs it. */
  readonly user?: MaintenanceUser;
  /** The `NODE_ENV` environment variable at request time. */
  readonly nodeEnv?: string;
  /** Mode forced by the matched route (`forceMaintenance` / `@ForceMaintenance`). */
  readonly forced?: 'on' | 'off';
  /** Whether the matched route is the toggle routes' `off` URL. */
  readonly isToggleOffRoute?: boolean;
  /** Request method, upper case (read-only maintenance lets safe methods through). */
  readonly method?: string;
  /** A CORS preflight: `OPTIONS` with `Access-Control-Request-Method`. */
  readonly isPreflight?: boolean;
  /** The path is one of `healthPaths`. */
  readonly isHealthPath?: boolean;
  /** The request carries a valid bypass cookie or header. */
  readonly hasBypass?: boolean;
}

/**
 * Every rule that can let a request through, in {@link decide}'s order (`released` is the middleware's: a held request
 * whose maintenance ended). test/fast-path.test.ts reaches each of decide()'s rules from its table.
 */
export const PASS_RULES = [
  'healthPaths',
  'forced-off',
  'state-off',
  'cors-preflight',
  'toggle-off-url',
  'bypass-token',
  'read-only',
  'ignoreAnonymousUser',
  'ignoreAuthenticatedUser',
  'ignoreStaff',
  'ignoreSuperuser',
  'ignoreAdminSite',
  'ignoreTests',
  'ignoreIpAddresses',
  'ignoreUrls',
  'redirect-target',
  'dry-run',
  'released',
] as const;

/** Rule that let a request through. */
export type PassRule = (typeof PASS_RULES)[number];

/** Outcome of {@link decide}: which rule decided and, when blocked, how to answer. */
export type Decision =
  | {
      readonly blocked: false;
      readonly rule: PassRule;
      /** With `rule: 'dry-run'`: the rule that would have blocked the request. */
      readonly wouldBlock?: 'maintenance';
    }
  | {
      readonly blocked: true;
      readonly rule: 'forced-on' | 'maintenance';
      /** `redirect` when `redirectUrl` is set, else the page/JSON answer. */
      readonly action: 'respond' | 'redirect';
      /** Whether the user must be logged out (only ever for blocked requests). */
      readonly logout: boolean;
    };

/**
 * What a request's decision says to the app (`ctx.state.maintenanceDecision`, `onDecision`, `X-Maintenance-Decision`):
 * whether it was blocked, by which rule, in a dry run the rule that would have blocked, and the deciding scope.
 */
export interface DecisionTrace {
  readonly blocked: boolean;
  readonly rule: PassRule | 'forced-on' | 'maintenance';
  /** With `rule: 'dry-run'`: the rule that would have blocked the request. */
  readonly wouldBlock?: 'maintenance';
  /** The scope whose state decided; absent for the global state. */
  readonly scope?: string;
}

/** A dry run's answer for a request that would have been blocked. */
const DRY_RUN: Decision = Object.freeze({ blocked: false, rule: 'dry-run', wouldBlock: 'maintenance' });

/** Pass decisions carry no per-request data, so one frozen object per rule serves every request. */
const PASS = new Map<PassRule, Decision>();
function pass(rule: PassRule): Decision {
  let d = PASS.get(rule);
  if (!d) {
    d = Object.freeze({ blocked: false, rule }) as Decision;
    PASS.set(rule, d);
  }
  return d;
}

/** Blocked decisions carry no per-request data either: one frozen object per rule, action and logout. */
const blockedAs = (rule: 'forced-on' | 'maintenance', action: 'respond' | 'redirect', logout: boolean): Decision =>
  Object.freeze({ blocked: true, rule, action, logout });
const FORCED_ON = {
  respond: blockedAs('forced-on', 'respond', false),
  redirect: blockedAs('forced-on', 'redirect', false),
};
const BLOCKED = {
  respond: [blockedAs('maintenance', 'respond', false), blockedAs('maintenance', 'respond', true)],
  redirect: [blockedAs('maintenance', 'redirect', false), blockedAs('maintenance', 'redirect', true)],
};

/**
 * The decision of every request while the state is off (`rule: 'state-off'`): one frozen object, so the middleware's
 * off path can answer without calling {@link decide}.
 * @default { blocked: false, rule: 'state-off' }
 */
export const STATE_OFF: Decision = pass('state-off');

/**
 * What {@link decide} applies besides the request and the state: the resolved options and the rules compiled from
 * them, both fixed when `maintenance()` is called (the middleware's own setup is one).
 */
export interface DecisionPolicy {
  readonly config: DecisionConfig;
  readonly rules: BypassRules;
}

type UserRuleConfig = Pick<
  DecisionConfig,
  'ignoreAnonymousUser' | 'ignoreAuthenticatedUser' | 'ignoreStaff' | 'ignoreSuperuser'
>;

/** Whether any user rule or logout flag is on, i.e. whether the middleware must look the user up. */
export function needsUser(config: DecisionConfig): boolean {
  return (
    config.ignoreAnonymousUser ||
    config.ignoreAuthenticatedUser ||
    config.ignoreStaff ||
    config.ignoreSuperuser ||
    config.logoutAuthenticatedUser ||
    config.logoutStaffUser ||
    config.logoutSuperuser
  );
}

const isAuthenticated = (u: MaintenanceUser | undefined): u is MaintenanceUser =>
  u !== undefined && u !== null && u.isAuthenticated !== false;

function userRule(user: MaintenanceUser | undefined, c: UserRuleConfig): PassRule | undefined {
  if (!isAuthenticated(user)) return c.ignoreAnonymousUser ? 'ignoreAnonymousUser' : undefined;
  if (c.ignoreAuthenticatedUser) return 'ignoreAuthenticatedUser';
  if (c.ignoreStaff && user.isStaff === true) return 'ignoreStaff';
  if (c.ignoreSuperuser && user.isSuperuser === true) return 'ignoreSuperuser';
  return undefined;
}

function mustLogout(user: MaintenanceUser | undefined, c: DecisionConfig): boolean {
  if (!isAuthenticated(user)) return false;
  if (user.isSuperuser === true) return c.logoutSuperuser;
  if (user.isStaff === true) return c.logoutStaffUser;
  return c.logoutAuthenticatedUser;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Decides one request. Order (the first rule that decides wins): health paths → route forced → state off →
 * CORS preflight → toggle `off` URL → bypass token → read-only safe method → users → admin site → tests → IPs →
 * URLs → redirect target → dry run (would have blocked) → maintenance. The middleware skips it only where
 * `passesUnseen` (core/fast-path.ts) says every request would get `STATE_OFF`; a rule added here that can answer
 * otherwise while the state is off must be taught to that shortcut (test/fast-path.test.ts fails until it is).
 * @example decide({ path: '/shop', host: '' }, { enabled: true }, { config, rules: compileRules(config) }, new Date())
 */
export function decide(facts: RequestFacts, state: MaintenanceState, policy: DecisionPolicy, now: Date): Decision {
  if (facts.isHealthPath) return pass('healthPaths');
  if (facts.forced === 'off') return pass('forced-off');
  if (facts.forced === 'on') return FORCED_ON[redirects(facts, policy)];
  if (!isActive(state, now)) return STATE_OFF;
  const { config, rules } = policy;
  if (facts.isPreflight) return pass('cors-preflight');
  if (facts.isToggleOffRoute) return pass('toggle-off-url');
  if (facts.hasBypass) return pass('bypass-token');
  if (state.readOnly && facts.method !== undefined && SAFE_METHODS.has(facts.method)) return pass('read-only');
  const byUser = userRule(facts.user, config);
  if (byUser) return pass(byUser);
  if (config.ignoreAdminSite && rules.isAdminPath(facts.path)) return pass('ignoreAdminSite');
  if (config.ignoreTests && facts.nodeEnv === 'test') return pass('ignoreTests');
  if (rules.isIgnoredIp(facts.ip)) return pass('ignoreIpAddresses');
  if (rules.isIgnoredUrl(facts.path)) return pass('ignoreUrls');
  const action = redirects(facts, policy);
  if (action === 'respond' && config.redirectUrl !== undefined) return pass('redirect-target');
  if (state.dryRun) return DRY_RUN; // a rehearsal: every rule above was evaluated, nothing is blocked
  return BLOCKED[action][mustLogout(facts.user, config) ? 1 : 0];
}

/** How a blocked request is answered: redirected to `redirectUrl`, unless it is already there (then answered). */
function redirects(facts: RequestFacts, { config, rules }: DecisionPolicy): 'redirect' | 'respond' {
  return config.redirectUrl !== undefined && !rules.isRedirectTarget(facts.path, facts.host) ? 'redirect' : 'respond';
}
