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
import { createNotifier, type Notifier, type NotifyFailure } from './notify-delivery.js';
import { packageVersion } from './package-version.js';

/** How long `close()` waits for notifications on their way (their retries are bounded too). */
const NOTIFY_FLUSH_MS = 10_000;

/** Settings of {@link ChangeNotices}. */
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
export class ChangeNotices {
  private readonly notifier: Notifier;
  private clock: NotifyClock | undefined;
  /** The revision of this instance's latest write (its own change is told by the write, not as an observed one). */
  private wroteRevision: number | undefined;
  /** Claims of changes to tell still on their way: `flush()` lets them end before it flushes the posts. */
  private readonly claiming = new Set<Promise<unknown>>();
  private claimStore: ClaimStore | undefined;

  constructor(private readonly s: ChangeNoticeSettings) {
    this.notifier = createNotifier({
      targets: s.targets,
      logger: s.logger,
      userAgent: `koa-maintenance-mode/${packageVersion()}`,
      onFailure: s.onFailure,
      onDelivered: (n, url) => s.onDelivered(n.event, url),
    });
  }

  /** Records the revision of this instance's latest write. */
  wrote(revision: number): void {
    this.wroteRevision = revision;
  }

  /** Tells of a change once per fleet (a store without revisions: its writer tells). */
  tellOnce(event: NotifyEvent, state: MaintenanceState, scope?: string): void {
    if (!this.notifier.enabled) return;
    if (state.revision === undefined) {
      this.tell(event, state, scope); // a store without revisions: its writer tells, as before
      return;
    }
    const told = this.claims()
      .claim(`told:${scope ?? ''}:${state.revision}`, CLAIM_TTL_MS)
      .then(
        (mine) => mine && this.tell(event, state, scope),
        () => this.tell(event, state, scope), // the claim could not be made: better twice than never
      );
    this.claiming.add(told);
    void told.finally(() => this.claiming.delete(told));
  }

  /** A change this instance sees (a read, a push): told once per fleet when it is a switch with a revision. */
  observed(previous: MaintenanceState | undefined, next: MaintenanceState, scope?: string): void {
    if (!this.notifier.enabled || previous === undefined || next.revision === undefined) return;
    if (next.revision === previous.revision || next.revision === this.wroteRevision) return;
    const now = new Date();
    const event = changeEvent(summarize(previous, now), summarize(next, now));
    if (event) this.tellOnce(event, next, scope);
  }

  /** Tells the webhooks of a change this instance made (the writer tells; the others stay quiet). */
  tell(event: NotifyEvent, state: MaintenanceState, scope?: string, windowId?: string): void {
    if (!this.notifier.enabled) return;
    this.notifier.send({
      event,
      state,
      at: new Date(),
      ...(scope !== undefined ? { scope } : {}),
      ...(windowId !== undefined ? { windowId } : {}),
    });
  }

  /** Starts the clock of a serving instance (reminders, windows that start or end) from the windows planned. */
  startClock(windows: (from: Date) => readonly PlannedWindow[]): void {
    if (!this.notifier.enabled || this.clock) return;
    this.clock = createNotifyClock({ notifier: this.notifier, claims: this.claims(), logger: this.s.logger, windows });
  }

  /** The states changed: the clock looks at its next event again. */
  refreshClock(): void {
    this.clock?.refresh();
  }

  stopClock(): void {
    this.clock?.stop();
  }

  /** Lets the claims on their way end, then flushes the posts (each bounded). */
  async flush(): Promise<void> {
    await Promise.race([Promise.allSettled([...this.claiming]), sleepUnref(NOTIFY_FLUSH_MS)]);
    await this.notifier.flush(NOTIFY_FLUSH_MS);
  }

  private claims(): ClaimStore {
    this.claimStore ??= this.s.claims();
    return this.claimStore;
  }
}

/** Resolves after `ms` without keeping the process alive. */
function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
