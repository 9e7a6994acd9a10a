/**
 * The Alertmanager silences of a serving instance (`MaintenanceServiceOptions.silence`): it looks at the states in
 * force for each silence's scope whenever they change (a switch, a push, a read) and when they change by themselves
 * (one timer, set to the next start, end, lease, occurrence or step, from memory), and tells each silence's track
 * what is due; the track claims it in the store, so one instance of the fleet acts. Nothing on a request's path.
 */
import type { ClaimStore } from '../core/claims.js';
import { nextSilenceLook, silenceBasis, silenceDue } from '../core/silence.js';
import type { SilenceConfig } from '../core/silence-options.js';
import type { MaintenanceState } from '../core/state.js';
import type { Occurrence } from '../core/windows.js';
import { type MaintenanceLogger, type StateStore, withTimeout } from '../store/state-store.js';
import { alertmanagerClient } from './alertmanager.js';
import { CLAIM_TTL_MS } from './notify-clock.js';
import { packageVersion } from './package-version.js';
import { SilenceTrack } from './silence-track.js';
import type { StateView } from './state-view.js';

/** The silences look again at least this often (occurrences further ahead are computed then). */
const MAX_SLEEP_MS = 3_600_000;
/** A look this much after a boundary, so the state in force has changed when it is read. */
const AFTER_BOUNDARY_MS = 5;
/** While the store cannot be read, the silences look again this often (they act on no fallback state). */
const STORE_RETRY_MS = 5000;

/** Settings of {@link Silencer}. */
export interface SilencerSettings {
  readonly configs: readonly SilenceConfig[];
  readonly view: Pick<StateView, 'getState' | 'readFailing'>;
  /** The store's current revision (bounded; throws when the store cannot be read). */
  readonly revision: () => Promise<number>;
  /** The next occurrences of the recurring windows, from memory (the service's `upcoming()`). */
  readonly upcoming: (options: { scope?: string; count: number; dryRuns: false }) => Occurrence[];
  /** Calls `listener` after every change of the states held; returns the unwatch. */
  readonly watch: (listener: () => void) => () => void;
  /** The store's claims, asked when first needed. */
  readonly claims: () => ClaimStore;
  readonly store: Pick<StateStore, 'appendHistory'>;
  readonly logger: MaintenanceLogger;
  readonly storeTimeoutMs: number;
  /** Look again this often, for a store that pushes no change (plain keyv). @default undefined (it pushes) */
  readonly pollMs?: number;
}

/** The silences of one service: started by `start()` on an instance that serves, stopped on close. */
export class Silencer {
  private tracks: SilenceTrack[] = [];
  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private again = false;
  private unwatch: (() => void) | undefined;

  constructor(private readonly s: SilencerSettings) {}

  /** Starts looking (a no-op without silences, once stopped, and when started already). */
  start(): void {
    if (this.started || this.stopped || this.s.configs.length === 0) return;
    this.started = true;
    const userAgent = `koa-maintenance-mode/${packageVersion()}`;
    const { logger, storeTimeoutMs } = this.s;
    this.tracks = this.s.configs.map(
      (config) =>
        new SilenceTrack({
          config,
          alertmanager: alertmanagerClient(config, userAgent),
          claim: (name) =>
            withTimeout(this.s.claims().claim(name, CLAIM_TTL_MS), storeTimeoutMs, 'Claiming a silence in the store'),
          note: (entry) => this.s.store.appendHistory(entry),
          logger,
        }),
    );
    this.unwatch = this.s.watch(() => this.look());
    this.look();
  }

  /** Stops looking and retrying; what is on its way ends by itself ({@link Silencer.flush} waits for it). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    for (const track of this.tracks) track.stop();
  }

  /** Resolves when the calls on their way have ended, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled(this.tracks.map((t) => t.idle())), bound]);
    clearTimeout(timer);
  }

  /** Looks at the states in force now (once at a time: a change during a look makes one more). */
  private look(): void {
    if (!this.started || this.stopped) return;
    if (this.looking) {
      this.again = true;
      return;
    }
    this.looking = true;
    void this.lookNow()
      .catch((err: Error) => this.s.logger.warn(`koa-maintenance-mode: the silences could not look: ${err.message}`))
      .finally(() => {
        this.looking = false;
        if (this.again) {
          this.again = false;
          this.look();
        }
      });
  }

  private async lookNow(): Promise<void> {
    const now = Date.now();
    let next = now + (this.s.pollMs ?? MAX_SLEEP_MS);
    try {
      const looks = await Promise.all(this.tracks.map((t) => this.statesFor(t.config.scope)));
      // Only states read (not a last-known or fallback state while the store fails), with the revision they are at.
      const revision = looks.every(Boolean) ? await this.s.revision().catch(() => undefined) : undefined;
      if (revision === undefined) {
        next = now + STORE_RETRY_MS;
        return;
      }
      this.tracks.forEach((track, i) => {
        const states = looks[i] as MaintenanceState[];
        const due = silenceDue(states, now);
        track.want({ basis: silenceBasis(states, due, now, revision), due, states });
        const at = nextSilenceLook(states, due, now, this.startsFor(track.config.scope, now));
        if (at !== undefined) next = Math.min(next, at + AFTER_BOUNDARY_MS);
      });
    } finally {
      this.arm(next);
    }
  }

  /**
   * The states in force that put `scope` in maintenance: the site-wide one, and the scope's own; undefined while the
   * store fails (what the caches hold then is a last-known or fallback state).
   */
  private async statesFor(scope: string | undefined): Promise<MaintenanceState[] | undefined> {
    const { view } = this.s;
    const states = [await view.getState(), ...(scope === undefined ? [] : [await view.getState(scope)])];
    return view.readFailing(scope) ? undefined : states;
  }

  /** The starts of the next occurrences that put `scope` in maintenance, from memory. */
  private startsFor(scope: string | undefined, now: number): number[] {
    return this.s
      .upcoming({ ...(scope !== undefined ? { scope } : {}), count: 20, dryRuns: false })
      .filter((o) => scope !== undefined || o.window.scope === undefined)
      .map((o) => o.start.getTime())
      .filter((t) => t > now);
  }

  private arm(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.look(), Math.min(MAX_SLEEP_MS, Math.max(0, at - Date.now())));
    this.timer.unref();
  }
}
