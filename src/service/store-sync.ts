/**
 * How a service keeps up with its store: it subscribes to the change feed on first use (so a CLI run opens no
 * subscriber connection), reads again what a change message names — or what a write whose outcome is unknown touched —
 * and tracks the store revision it has applied, which its fleet record reports (caught up at every heartbeat).
 */
import { ANY_SCOPE, type ChangeFeed, type StateChange } from '../core/change-feed.js';
import type { StateStore } from '../store/state-store.js';
import type { StateCaches } from './state-view.js';

/** How often a read after a change signal is repeated when it raced another change (see `readAgain`). */
const READ_AGAIN_TRIES = 3;

/** Settings of {@link StoreSync}. */
export interface StoreSyncSettings {
  readonly store: Pick<StateStore, 'readRevision'>;
  /** The store's change feed, when it has one. */
  readonly feed: ChangeFeed | undefined;
  readonly cacheTtlMs: number;
  readonly caches: StateCaches;
  /** This instance in its fleet: whether it joined (the applied revision matters to the fleet only), its next report. */
  readonly fleet: { joined(): boolean; reportSoon(): void };
}

/** The subscription and the applied revision of one service. */
export class StoreSync {
  private unsubscribe: (() => void) | undefined;
  /** The store revision this instance serves: it has read every change up to it. */
  private appliedRevision = 0;

  constructor(private readonly s: StoreSyncSettings) {}

  /** The store revision this instance serves. */
  get applied(): number {
    return this.appliedRevision;
  }

  /** Whether the next read through the caches subscribes first (what they hold may be behind until then). */
  get subscribesFirst(): boolean {
    return !!this.s.feed && !this.unsubscribe && this.s.cacheTtlMs > 0;
  }

  /** Subscribes to the store's change feed on first use (so a CLI run opens no subscriber connection). */
  listen(): void {
    const { feed, caches } = this.s;
    if (this.unsubscribe || !feed || (this.s.cacheTtlMs === 0 && !this.s.fleet.joined())) return;
    this.unsubscribe = feed.subscribe((change) => this.readAgain(change));
    // Changes made before we listened were not pushed to us: whatever we hold (e.g. from our own write) is re-read.
    this.readAgain({});
    if (caches.scopes.known) this.readAgain({ scope: ANY_SCOPE });
  }

  /**
   * Reads the global state, or the table of scopes, again: after a change message (which names what changed and its
   * revision, never the state) or a write whose outcome is unknown; then this instance has applied that revision. A
   * change of a scope this instance holds no table for is applied at once (there is nothing to read). Without the
   * revision (a file event, a reconnect) the store's revision is read first, then the state.
   */
  readAgain(change: StateChange): void {
    const { global, scopes } = this.s.caches;
    const cache = change.scope === undefined ? global : scopes.known ? scopes : undefined;
    const known = change.revision;
    if (known !== undefined) {
      const read = cache ? cache.invalidate() : Promise.resolve(true);
      void read.then((ok) => ok && this.markApplied(known));
      return;
    }
    const now = cache?.invalidate(); // what requests see is read again at once
    if (!this.s.fleet.joined()) return; // the applied revision matters to the fleet only
    void this.s.store
      .readRevision()
      .then(async (r) => {
        // Read once more, after the revision: only a read that started after it proves it applied. A read that raced
        // this instance's own write (or another push) is discarded by the cache: read again, a few times at most.
        await now;
        for (let tries = 0; tries < READ_AGAIN_TRIES; tries++) {
          if (!cache || (await cache.invalidate())) return this.markApplied(r);
        }
      })
      .catch(() => undefined); // the store is down: the next change or heartbeat catches up
  }

  /** A heartbeat's check: when the store is at a later revision than applied, reads what it holds again. */
  async catchUp(): Promise<void> {
    const { global, scopes } = this.s.caches;
    const revision = await this.s.store.readRevision();
    if (revision <= this.appliedRevision) return;
    const reads = [global.invalidate(), ...(scopes.known ? [scopes.invalidate()] : [])];
    if ((await Promise.all(reads)).every(Boolean)) this.markApplied(revision);
  }

  /** Stops listening for changes. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Closes the change feed's connection (the subscriber's, on Redis and PostgreSQL). */
  private markApplied(revision: number): void {
    if (revision <= this.appliedRevision) return;
    this.appliedRevision = revision;
    this.s.fleet.reportSoon();
  }
}
