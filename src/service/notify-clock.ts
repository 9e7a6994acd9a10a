/**
 * The notification clock of an instance that serves: one timer, set to the next event that planned windows cause by
 * themselves (a reminder, a scheduled window or an occurrence that starts, a window that ends), computed from the
 * states held in memory. When it fires, every serving instance tries to claim the event in the store; the one that
 * claims it sends it, so each is sent once per fleet. No timer per window; nothing on a request's path.
 */
import type { ClaimStore } from '../core/claims.js';
import { type DueEvent, type PlannedWindow, plannedEvents } from '../core/notify.js';
import type { MaintenanceLogger } from '../store/state-store.js';
import type { Notifier } from './notify-delivery.js';

/** How long a claim holds: longer than any clock skew between instances, so a late one never sends it again. */
export const CLAIM_TTL_MS = 86_400_000;
/** The clock looks again at least this often (occurrences further ahead are computed then). */
const MAX_SLEEP_MS = 3_600_000;

/** Settings of {@link createNotifyClock}. */
export interface NotifyClockSettings {
  readonly notifier: Notifier;
  readonly claims: ClaimStore;
  /**
   * The planned windows, from memory, with the occurrences that end after `from` (so an occurrence that ended since the
   * clock last looked still gives its end).
   */
  readonly windows: (from: Date) => readonly PlannedWindow[];
  readonly logger: MaintenanceLogger;
}

/** The clock of one service: `refresh()` after any change of the states, `stop()` on close. */
export interface NotifyClock {
  refresh(): void;
  stop(): void;
}

/** Starts the clock: events due from now on are sent (those due before it started were some other instance's). */
export function createNotifyClock(s: NotifyClockSettings): NotifyClock {
  let checked = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const events = (from: number): DueEvent[] => plannedEvents(s.windows(new Date(from)), s.notifier.remindOffsets);

  const send = async (e: DueEvent) => {
    try {
      if (await s.claims.claim(e.claim, CLAIM_TTL_MS)) s.notifier.send(e.notification);
    } catch (err) {
      s.logger.warn(
        `koa-maintenance-mode: the "${e.notification.event}" notification was not sent: the store could not be ` +
          `reached to claim it (${(err as Error).message}).`,
      );
    }
  };
  const fire = () => {
    timer = undefined;
    const now = Date.now();
    const due = events(checked).filter((e) => e.due > checked && e.due <= now);
    checked = now;
    for (const e of due) void send(e);
    refresh();
  };
  const refresh = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    const next = events(checked).find((e) => e.due > checked);
    const wait = next === undefined ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, next.due - Date.now()));
    timer = setTimeout(fire, wait);
    timer.unref();
  };
  refresh();
  return {
    refresh,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
