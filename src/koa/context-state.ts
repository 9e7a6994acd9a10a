/**
 * The `ctx.state` keys `maintenance()` sets, typed for every Koa app that imports the package (`declare module 'koa'`
 * adds them to Koa's `DefaultState`; keys the app adds itself stay as Koa types them).
 */
import type { DecisionTrace } from '../core/decide.js';
import type { UpcomingWindow } from '../core/upcoming.js';
import type { LiveBanner } from './live-link.js';

/** What `maintenance()` tells the rest of the app about a request that passed it. */
export interface MaintenanceContextState {
  /**
   * Whether maintenance is on for this request (it passed because a rule let it through).
   * @default unset on requests the middleware did not see
   */
  maintenanceMode?: boolean;
  /** The rule that decided, whether it blocked, and the deciding scope. @default unset on requests not seen */
  maintenanceDecision?: DecisionTrace;
  /** `true` while read-only mode lets a safe method through, so templates can hide forms. @default unset */
  maintenanceReadOnly?: boolean;
  /** `true` in a dry run that would have blocked this request. @default unset */
  maintenanceDryRun?: boolean;
  /** A window that starts within `announceBeforeSeconds`, in the visitor's language. @default unset */
  maintenanceUpcoming?: UpcomingWindow;
  /** How long a held request waited before maintenance ended (`hold`), in milliseconds. @default unset */
  maintenanceHeldMs?: number;
  /**
   * What the banner's script follows (`liveReload` with `announceBeforeSeconds`, once live routes are known): render
   * the banner with `maintenanceBanner(ctx.state)` or the `maintenance-banner.html` partial. @default unset
   */
  maintenanceLive?: LiveBanner;
}

declare module 'koa' {
  /** Koa's default `ctx.state`, with the keys `maintenance()` sets. */
  interface DefaultState extends MaintenanceContextState {}
}
