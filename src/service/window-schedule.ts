/**
 * The recurring windows of a service: added and removed through the one write (they live in the stored global
 * state), listed, and their next occurrences — from memory, computed once per stored state (`upcoming.ts`) — for the
 * service's readers and for the notification clock.
 */
import { type PlannedWindow, plannedWindows } from '../core/notify.js';
import { checkScopeName } from '../core/scope.js';
import { OFF_STATE } from '../core/state.js';
import {
  type Occurrence,
  occurrenceState,
  type RecurringWindow,
  type WindowDefinition,
  windowsOf,
} from '../core/windows.js';
import type { ChangeNotices } from './notify-changes.js';
import { usableOccurrencesOf } from './recurrence.js';
import type { StateCaches, StateView } from './state-view.js';
import type { StateWrites } from './state-writes.js';
import type { Upcoming, UpcomingOptions } from './upcoming.js';
import { addedWindow, endOccurrences, upcomingWindows, withoutWindow } from './window-list.js';

/** Settings of {@link WindowSchedule}. */
export interface WindowScheduleSettings {
  /** The forced state, if any (no occurrence is in force then). */
  readonly mode: boolean | undefined;
  readonly caches: StateCaches;
  readonly view: Pick<StateView, 'getStoredState' | 'storedStateForSwitch'>;
  readonly writes: Pick<StateWrites, 'write'>;
  readonly notices: Pick<ChangeNotices, 'tell'>;
  /** The memo of next occurrences. */
  readonly upcoming: Upcoming;
}

/** The windows of one service (each public method is the service's method of the same name). */
export class WindowSchedule {
  constructor(private readonly s: WindowScheduleSettings) {}

  /** Adds a window (checked), and tells the webhooks of its next occurrence. */
  async addWindow(def: WindowDefinition): Promise<RecurringWindow> {
    if (def?.scope !== undefined) checkScopeName(def.scope);
    const stored = (await this.s.view.storedStateForSwitch()) ?? OFF_STATE;
    const { windows, window } = addedWindow(windowsOf(stored), def, new Date());
    await this.s.writes.write(stored, { source: 'window', by: def.by, reason: `window added: ${window.id}`, windows });
    const next = upcomingWindows([window], { count: 1, dryRuns: false }, this.s.upcoming.onInvalid)[0];
    if (next) this.s.notices.tell('scheduled', occurrenceState(next), window.scope, window.id);
    return window;
  }

  /** Removes the window `id`. */
  async removeWindow(id: string, opts: { by?: string } = {}): Promise<void> {
    const stored = (await this.s.view.storedStateForSwitch()) ?? OFF_STATE;
    const windows = withoutWindow(windowsOf(stored), id);
    await this.s.writes.write(stored, { source: 'window', by: opts.by, reason: `window removed: ${id}`, windows });
  }

  /** The next `count` occurrences of one window, in progress first. */
  occurrencesOf(window: RecurringWindow, count = 3): Occurrence[] {
    return usableOccurrencesOf(window, new Date(), count, this.s.upcoming.onInvalid);
  }

  /** The windows defined, read now. */
  async windows(): Promise<readonly RecurringWindow[]> {
    return windowsOf(await this.s.view.getStoredState());
  }

  /** The next occurrences of the windows held, in time order, from memory. */
  upcoming(options: UpcomingOptions = {}): Occurrence[] {
    return this.s.upcoming.of(this.s.caches.global.peek(), options);
  }

  /** Whether an occurrence is in force for `scope` (site-wide when undefined) now, read from the store. */
  async occurrenceInProgress(scope?: string): Promise<boolean> {
    if (this.s.mode !== undefined) return false;
    const global = (await this.s.view.storedStateForSwitch()) ?? OFF_STATE;
    return endOccurrences(windowsOf(global), scope, new Date()) !== undefined;
  }

  /**
   * What the notification clock plans from, held in memory: the states and the next occurrences that end after
   * `from` (so one that ended since the clock last looked still gives its end).
   */
  planned(from: Date): readonly PlannedWindow[] {
    return plannedWindows(
      this.s.caches.global.peek(),
      this.s.caches.scopes.peek(),
      this.upcoming({ count: 20, dryRuns: false, from }).map((o) => ({
        state: occurrenceState(o),
        windowId: o.window.id,
        ...(o.window.scope !== undefined ? { scope: o.window.scope } : {}),
      })),
    );
  }
}
