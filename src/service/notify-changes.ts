/**
 * The webhooks of a service, told of each change once per fleet, whoever made it: its writer, or (when the writer has
 * no `notify`, e.g. the CLI) any instance with `notify` that sees it — each claims `told:<scope>:<revision>` in the
 * store first, so one of them posts. A serving instance's clock tells of reminders and of windows that start or end.
 * No webhook secret goes into the store: only the claim's name.
 */
import type { ClaimStore } from '../core/claims.js';
import { summarize } from '../core/history.js';
import { changeEvent, type NotifyConfig, type NotifyEvent, type PlannedWindow } from '../core/notify.js';
import type { MaintenanceState } from '../core/state.js';
import type { MaintenanceLogger } from '../store/state-store.js';
import { CLAIM_TTL_MS, createNotifyClock, type NotifyClock } from './notify-clock.js';
import { createNotifier, type NotifyFailure } from './notify-delivery.js';
import { packageVersion } from './package-version.js';

/** How long `close()` waits for notifications on their way (their retries are bounded too). */
const NOTIFY_FLUSH_MS = 10_000;

/** Settings of {@link createChangeNotices}. */
export interface ChangeNoticeSettings {
  readonly targets: readonly NotifyConfig[];
  readonly logger: MaintenanceLogger;
  /** The store's claims (once per fleet); asked when first needed. */
  readonly claims: () => ClaimStore;
  /** A notification was posted; `url` is the webhook's origin. */
  readonly onDelivered: (event: NotifyEvent, url: string) => void;
  /** A notification failed after its retries. */
  readonly onFailure: (failure: NotifyFailure) => void;
}

/** The notifications of one service (no-ops without `notify`). */
export interface ChangeNotices {
  /** The revision of this instance's latest write: its own change is told by the write, not as an observed one. */
  wrote(revision: number): void;
  /** Tells of a change once per fleet (a store without revisions: its writer tells). */
  tellOnce(event: NotifyEvent, state: MaintenanceState, scope?: string): void;
  /** A change this instance sees (a read, a push): told once per fleet when it is a switch with a revision. */
  observed(previous: MaintenanceState | undefined, next: MaintenanceState, scope?: string): void;
  /** Tells the webhooks of a change this instance made (the writer tells; the others stay quiet). */
  tell(event: NotifyEvent, state: MaintenanceState, scope?: string, windowId?: string): void;
  /** Starts the clock of a serving instance (reminders, windows that start or end) from the windows planned. */
  startClock(windows: (from: Date) => readonly PlannedWindow[]): void;
  /** The states changed: the clock looks at its next event again. */
  refreshClock(): void;
  stopClock(): void;
  /** Lets the claims on their way end, then flushes the posts (each bounded). */
  flush(): Promise<void>;
}

/** Builds the notifications of one service. */
export function createChangeNotices(s: ChangeNoticeSettings): ChangeNotices {
  const notifier = createNotifier({
    targets: s.targets,
    logger: s.logger,
    userAgent: `koa-maintenance-mode/${packageVersion()}`,
    onFailure: s.onFailure,
    onDelivered: (n, url) => s.onDelivered(n.event, url),
  });
  let clock: NotifyClock | undefined;
  let wroteRevision: number | undefined;
  /** Claims of changes to tell still on their way: `flush()` lets them end before it flushes the posts. */
  const claiming = new Set<Promise<unknown>>();
  let claimStore: ClaimStore | undefined;
  const claims = () => {
    claimStore ??= s.claims();
    return claimStore;
  };
  const tell: ChangeNotices['tell'] = (event, state, scope, windowId) => {
    if (!notifier.enabled) return;
    notifier.send({
      event,
      state,
      at: new Date(),
      ...(scope !== undefined ? { scope } : {}),
      ...(windowId !== undefined ? { windowId } : {}),
    });
  };
  const tellOnce: ChangeNotices['tellOnce'] = (event, state, scope) => {
    if (!notifier.enabled) return;
    if (state.revision === undefined) {
      tell(event, state, scope); // a store without revisions: its writer tells, as before
      return;
    }
    const told = claims()
      .claim(`told:${scope ?? ''}:${state.revision}`, CLAIM_TTL_MS)
      .then(
        (mine) => mine && tell(event, state, scope),
        () => tell(event, state, scope), // the claim could not be made: better twice than never
      );
    claiming.add(told);
    void told.finally(() => claiming.delete(told));
  };
  return {
    wrote(revision) {
      wroteRevision = revision;
    },
    tellOnce,
    tell,
    observed(previous, next, scope) {
      if (!notifier.enabled || previous === undefined || next.revision === undefined) return;
      if (next.revision === previous.revision || next.revision === wroteRevision) return;
      const now = new Date();
      const event = changeEvent(summarize(previous, now), summarize(next, now));
      if (event) tellOnce(event, next, scope);
    },
    startClock(windows) {
      if (!notifier.enabled || clock) return;
      clock = createNotifyClock({ notifier, claims: claims(), logger: s.logger, windows });
    },
    refreshClock: () => clock?.refresh(),
    stopClock: () => clock?.stop(),
    async flush() {
      await Promise.race([Promise.allSettled([...claiming]), sleepUnref(NOTIFY_FLUSH_MS)]);
      await notifier.flush(NOTIFY_FLUSH_MS);
    },
  };
}

/** Resolves after `ms` without keeping the process alive. */
function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
