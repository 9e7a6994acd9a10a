/** The audit trail: one entry per change, kept bounded next to the state. Pure. */
import type { LocalizedText } from './i18n.js';
import { isActive, type MaintenanceState } from './state.js';

/** keyv key of the history (next to `maintenance_mode_state`). */
export const HISTORY_KEY = 'maintenance_mode_history';

/** How many entries the store keeps; older ones are dropped. */
export const HISTORY_LIMIT = 200;

/**
 * What a state means at one instant, for people reading the trail; `unreadable` is a stored state that was corrupt
 * when a switch overwrote it.
 */
export type StateSummary = 'on' | 'off' | 'scheduled' | 'read-only' | 'dry-run' | 'unreadable';

/** One change: who made it, when, through what, and what it changed from and to. */
export interface HistoryEntry {
  /** ISO-8601 instant of the change. */
  readonly at: string;
  /** `updatedBy` of the change, when known. */
  readonly by?: string;
  /** What made it: `service`, `routes`, `cli`, `job` (withMaintenanceOn/Off), `silence` (an Alertmanager silence) or your own label. */
  readonly source: string;
  readonly from: StateSummary;
  readonly to: StateSummary;
  /** The message set with the change, if any (one text, or one per language). */
  readonly message?: string | LocalizedText;
  /** The scope that was switched; absent for the global state. */
  readonly scope?: string;
  /** Why, when the writer said (`run: npm run migrate`). */
  readonly reason?: string;
  /** The store's revision of the change. */
  readonly revision?: number;
  /** The Alertmanager silence made or expired (`source: 'silence'`; see `MaintenanceServiceOptions.silence`). */
  readonly silenceId?: string;
}

/** Summary of `state` at `now`. */
export function summarize(state: MaintenanceState, now: Date): StateSummary {
  if (!state.enabled) return 'off';
  if (isActive(state, now)) return state.dryRun ? 'dry-run' : state.readOnly ? 'read-only' : 'on';
  return state.start !== undefined && Date.parse(state.start) > now.getTime() ? 'scheduled' : 'off';
}

/** A change, as {@link historyEntry} records it. */
export interface HistoryChange {
  /** The state before (`'unreadable'`: a corrupt stored state). */
  readonly previous: MaintenanceState | 'unreadable';
  readonly next: MaintenanceState;
  /** What made it: `service`, `routes`, `cli`, `job`, `window`, `lease` or your own label. */
  readonly source: string;
  readonly now: Date;
  /** Who made it. @default next.updatedBy */
  readonly by?: string;
  /** The scope switched. @default undefined (the global state) */
  readonly scope?: string;
  /** Why, when the writer said. @default undefined */
  readonly reason?: string;
}

/** The entry for a change from `previous` to `next`. */
export function historyEntry(change: HistoryChange): HistoryEntry {
  const { previous, next, source, now, scope, reason } = change;
  const by = change.by ?? next.updatedBy;
  const entry: { -readonly [K in keyof HistoryEntry]: HistoryEntry[K] } = {
    at: now.toISOString(),
    source,
    from: previous === 'unreadable' ? 'unreadable' : summarize(previous, now),
    to: summarize(next, now),
  };
  if (by !== undefined) entry.by = by;
  // A window added or removed changes the windows, not the state: its entry quotes no unrelated message.
  if (next.message !== undefined && source !== 'window') entry.message = next.message;
  if (scope !== undefined) entry.scope = scope;
  if (reason !== undefined) entry.reason = reason;
  return entry;
}

/** Reads a stored history defensively (anything unexpected counts as empty). */
export function normalizeHistory(value: unknown): HistoryEntry[] {
  return Array.isArray(value)
    ? value.filter((e) => typeof e === 'object' && e !== null && typeof e.at === 'string')
    : [];
}

/** `list` with `entry` appended, keeping the newest `limit` entries. */
export function appendHistory(
  list: readonly HistoryEntry[],
  entry: HistoryEntry,
  limit = HISTORY_LIMIT,
): HistoryEntry[] {
  const next = [...list, entry];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/**
 * A store's history: an append-only, bounded log. Redis, PostgreSQL and the file store append atomically, so concurrent
 * writers lose no entry; a plain keyv store appends read-modify-write.
 */
export interface HistoryLog {
  /** Appends `entry`, keeping the newest `limit` entries. */
  append(entry: HistoryEntry, limit: number): Promise<void>;
  /** The newest `limit` entries, oldest first. */
  read(limit: number): Promise<HistoryEntry[]>;
}
