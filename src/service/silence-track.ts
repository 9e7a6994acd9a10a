/**
 * One configured silence on one instance: it is told what is due (`want()`), claims the basis in the store so one
 * instance of the fleet acts on it, then brings Alertmanager in line — finds this library's silence for it by its
 * `createdBy` (so no instance ever makes a second one, even after an answer that was lost), makes, moves or expires
 * it, and names each silence made or expired in the history. Failures are retried with backoff in the background
 * and logged once per outage; nothing here is on a switch's path.
 */
import type { HistoryEntry } from '../core/history.js';
import {
  type ListedSilence,
  ownSilences,
  type SilenceDue,
  silenceBody,
  silenceClaimName,
  silenceEntry,
} from '../core/silence.js';
import type { SilenceConfig } from '../core/silence-options.js';
import type { MaintenanceState } from '../core/state.js';
import type { MaintenanceLogger } from '../store/state-store.js';
import type { Alertmanager } from './alertmanager.js';

/** Delays between attempts, in milliseconds; the last one repeats until Alertmanager answers. */
export const SILENCE_RETRY_DELAYS_MS: readonly number[] = Object.freeze([1000, 2000, 4000, 8000, 15_000, 30_000]);
/** A silence whose end is within this of the one due is left as it is. */
const END_TOLERANCE_MS = 1000;

/** What is due for a silence, and what it was computed from. */
export interface SilenceWanted {
  readonly basis: string;
  readonly due: SilenceDue;
  readonly states: readonly MaintenanceState[];
}

/** Settings of {@link SilenceTrack}. */
export interface SilenceTrackSettings {
  readonly config: SilenceConfig;
  readonly alertmanager: Alertmanager;
  /** Claims `name` for the fleet (bounded); rejects when the store cannot be reached. */
  readonly claim: (name: string) => Promise<boolean>;
  /** Adds a history entry (bounded). */
  readonly note: (entry: HistoryEntry) => Promise<void>;
  readonly logger: MaintenanceLogger;
}

/** The work of one configured silence on this instance. */
export class SilenceTrack {
  private wanted: SilenceWanted | undefined;
  /** The basis acted on (or left to the instance that claimed it). */
  private handled: string | undefined;
  /** The basis whose claim this instance holds (its retries claim nothing again). */
  private claimed: string | undefined;
  /**
   * This instance made a silence: it looks at the next basis too, claimed or not (its view may have been behind the
   * store's, so the silence it made may be due no more), but makes none on it.
   */
  private follow = false;
  /** Silences whose expiry this instance claimed (its retries claim nothing again). */
  private readonly expiring = new Set<string>();
  private running: Promise<void> | undefined;
  private attempts = 0;
  private failing = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly s: SilenceTrackSettings) {}

  get config(): SilenceConfig {
    return this.s.config;
  }

  /** What is due now; acted on in the background when its basis is new. */
  want(wanted: SilenceWanted): void {
    if (this.stopped || wanted.basis === this.wanted?.basis) return;
    this.wanted = wanted;
    this.wake?.();
    this.kick();
  }

  /** Stops after the call on its way (no retry is waited for). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Resolves when the work on its way has ended. */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private pending(): boolean {
    return !this.stopped && this.wanted !== undefined && this.wanted.basis !== this.handled;
  }

  private kick(): void {
    if (this.running || !this.pending()) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      this.kick(); // something new may have come while the loop ended
    });
  }

  private async run(): Promise<void> {
    while (this.pending()) {
      const w = this.wanted as SilenceWanted;
      const claimed = await this.claim(w.basis);
      if (!claimed && !this.follow) {
        this.handled = w.basis; // another instance acts on it
        continue;
      }
      try {
        const made = await this.reconcile(w, claimed);
        this.succeeded();
        this.handled = w.basis;
        this.follow = made;
      } catch (err) {
        this.failed(err as Error);
        await this.pause(SILENCE_RETRY_DELAYS_MS[Math.min(this.attempts++, SILENCE_RETRY_DELAYS_MS.length - 1)]);
      }
    }
  }

  /** Whether this instance holds the claim of `basis` (or it could not be made: better twice than never). */
  private async claim(basis: string): Promise<boolean> {
    if (this.claimed === basis) return true;
    const won = await this.s.claim(silenceClaimName(this.s.config, basis)).catch(() => true);
    if (won) this.claimed = basis;
    return won;
  }

  /**
   * Brings Alertmanager in line with `w`: expires what is not due, moves the silence due to its end, and makes it when
   * there is none and `mayMake`. Resolves whether it made one.
   */
  private async reconcile(w: SilenceWanted, mayMake: boolean): Promise<boolean> {
    const am = this.s.alertmanager;
    const own = ownSilences(this.s.config, await am.list());
    const [keep, ...extra] = w.due.active ? own : [undefined, ...own];
    for (const silence of extra) await this.expire(silence as ListedSilence, w);
    if (!w.due.active || (!keep && !mayMake)) return false;
    const endsAt = w.due.endsAt;
    if (keep && Math.abs(Date.parse(keep.endsAt) - endsAt) < END_TOLERANCE_MS) return false;
    const id = await am.post(silenceBody(this.s.config, endsAt, Date.now(), keep));
    if (id === keep?.id) return false; // moved in place: it keeps its id, and the entry that named it
    await this.note({ id, endsAt, w });
    return true;
  }

  /** Expires a silence once per fleet (a claim of its id), and names it in the history. */
  private async expire(silence: ListedSilence, w: SilenceWanted): Promise<void> {
    if (!this.expiring.has(silence.id)) {
      if (!(await this.s.claim(`silence-expired:${silence.id}`).catch(() => true))) return;
      this.expiring.add(silence.id);
    }
    await this.s.alertmanager.expire(silence.id);
    this.expiring.delete(silence.id);
    await this.note({ id: silence.id, w });
  }

  /** Names a silence made (`endsAt`) or expired in the history; a store that fails loses the entry, not the silence. */
  private async note(n: { id: string; endsAt?: number; w: SilenceWanted }): Promise<void> {
    const entry = silenceEntry({
      config: this.s.config,
      id: n.id,
      endsAt: n.endsAt,
      states: n.w.states,
      now: new Date(),
    });
    await this.s.note(entry).catch((err: Error) => {
      this.s.logger.warn(
        `koa-maintenance-mode: the history entry naming silence ${n.id} could not be written (${err.message}).`,
      );
    });
  }

  private what(): string {
    const { scope, shown } = this.s.config;
    return `the silence of ${scope === undefined ? "the site's" : `scope ${scope}'s`} maintenance in Alertmanager at ${shown}`;
  }

  private failed(err: Error): void {
    if (this.failing) return;
    this.failing = true;
    this.s.logger.warn(
      `koa-maintenance-mode: ${this.what()} could not be brought up to date: ${err.message}. Retrying with backoff ` +
        '(logged once until it succeeds).',
    );
  }

  private succeeded(): void {
    this.attempts = 0;
    if (!this.failing) return;
    this.failing = false;
    const { logger } = this.s;
    (logger.info ?? logger.warn).call(logger, `koa-maintenance-mode: ${this.what()} is up to date again.`);
  }

  /** Waits `ms` (without keeping the process alive), or until something new is wanted or it stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
    });
  }
}
