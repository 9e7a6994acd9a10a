/**
 * Contract scenarios of a store that fails: stalled, killed, restarted, or holding a corrupt state. Requests (every
 * read a request makes: `isEnabled()`) never hang; reads follow the policy (the last known state for `cacheTtlMs`, then
 * `fallbackValue`); writes fail fast and say so; the service recovers by itself and loses nothing acknowledged.
 */
import assert from 'node:assert/strict';
import { MaintenanceError } from '../core/errors.js';
import type { MaintenanceService } from '../service/service.js';
import { BOUND_MS, captureLogger, outcome, PATIENCE_MS, until } from './kit.js';
import { codeOf, type Scenario } from './scenario.js';

/** Reads as requests do, one after the other for `ms`: the values seen and the slowest read. */
async function readsFor(s: MaintenanceService, ms: number): Promise<{ values: boolean[]; slowest: number }> {
  const values: boolean[] = [];
  let slowest = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const r = await outcome(() => s.isEnabled());
    assert.equal(r.error, undefined, `isEnabled() threw: ${String(r.error)}`);
    values.push(r.value as boolean);
    slowest = Math.max(slowest, r.ms);
  }
  return { values, slowest };
}

/** Asserts that `r` failed with a MaintenanceError naming `description`, within its bound. */
function failedFast(r: { error?: unknown; ms: number }, description: string, what: string): void {
  assert.ok(r.error instanceof MaintenanceError, `${what}: ${String(r.error)}`);
  assert.ok((r.error as Error).message.includes(description), `${what} names the store: ${(r.error as Error).message}`);
  assert.ok(r.ms < BOUND_MS, `${what} took ${Math.round(r.ms)} ms: bounded by storeTimeoutMs, never a hang`);
}

const stalled: Scenario = {
  title:
    'stall: reads keep the last known state, then fallbackValue, each within storeTimeoutMs; a read in flight and close() end within their bound; recovers after it',
  needs: ['stall'],
  timeoutMs: 4 * PATIENCE_MS,
  async run(kit) {
    const s = await kit.service({ storeTimeoutMs: 300, cacheTtlMs: 200, fallbackValue: true });
    const closer = await kit.service({ storeTimeoutMs: 300 });
    await s.disable({ by: kit.tag });
    assert.equal(await s.isEnabled(), false);
    await closer.getStoredState(); // connected
    await kit.stall();
    try {
      const during = await readsFor(s, 1500);
      assert.ok(during.slowest < BOUND_MS, `a read took ${Math.round(during.slowest)} ms while stalled`);
      await until('fallbackValue applies', async () => (await s.isEnabled()) === true);
      failedFast(await outcome(() => s.getStoredState()), s.storeDescription, 'a read of the stored state');
      const pending = closer.getStoredState().catch(() => undefined); // a read the stalled server never answers
      const closing = await outcome(() => closer.close());
      assert.ok(closing.ms < BOUND_MS, `close() took ${Math.round(closing.ms)} ms while stalled`);
      await pending;
    } finally {
      await kit.resume();
    }
    await until('reads the store again by itself', async () => (await s.isEnabled()) === false);
    const by = `${kit.tag}-after`;
    await until('writes again', async () => (await outcome(() => s.enable({ by }))).error === undefined);
    assert.equal((await (await kit.service()).getStoredState()).updatedBy, by);
    await s.disable({ by: kit.tag });
  },
};

const killed: Scenario = {
  title:
    'kill: reads fall back within storeTimeoutMs and warn once; writes, and a service opened while it is gone, fail fast naming the store',
  needs: ['kill'],
  timeoutMs: 4 * PATIENCE_MS,
  async run(kit) {
    const logger = captureLogger();
    const s = await kit.service({ storeTimeoutMs: 300, cacheTtlMs: 200, fallbackValue: true, logger });
    await s.disable({ by: kit.tag });
    await kit.kill();
    try {
      const during = await readsFor(s, 1500);
      assert.ok(during.slowest < BOUND_MS, `a read took ${Math.round(during.slowest)} ms while the store was gone`);
      await until('fallbackValue applies', async () => (await s.isEnabled()) === true);
      const write = await outcome(() => s.enable({ by: `${kit.tag}-lost` }));
      failedFast(write, s.storeDescription, 'a write');
      assert.match(String(codeOf(write.error)), /^ERR_MAINTENANCE_STORE_WRITE(_UNKNOWN)?$/);
      assert.equal(logger.warnings.length, 1, `warnings: ${logger.warnings.join(' | ')}`);
      const fresh = await kit.service({ storeTimeoutMs: 300, fallbackValue: true });
      const read = await outcome(() => fresh.isEnabled());
      assert.equal(read.value, true, String(read.error));
      assert.ok(read.ms < BOUND_MS, `a first read took ${Math.round(read.ms)} ms while the store was gone`);
      failedFast(await outcome(() => fresh.getStoredState()), fresh.storeDescription, 'a first read of the state');
    } finally {
      await kit.restart();
    }
  },
};

const restarted: Scenario = {
  title:
    'restart: the service recovers by itself, and a switch acknowledged before the outage is there after it and served again',
  needs: ['kill'],
  timeoutMs: 4 * PATIENCE_MS,
  async run(kit) {
    const s = await kit.service({ storeTimeoutMs: 300, cacheTtlMs: 300 });
    await s.enable({ message: 'before the outage', by: kit.tag });
    assert.equal(await s.isEnabled(), true);
    await kit.kill();
    try {
      assert.equal(await s.isEnabled(), true, 'the last known state, at first');
      await until('fallbackValue (false) applies', async () => (await s.isEnabled()) === false);
    } finally {
      await kit.restart();
    }
    await until('recovers by itself', async () => (await s.isEnabled()) === true);
    const stored = await s.getStoredState();
    assert.equal(stored.message, 'before the outage');
    assert.equal(stored.updatedBy, kit.tag);
    const other = await kit.service();
    assert.equal((await other.getState()).message, 'before the outage');
    await s.disable({ by: kit.tag });
    assert.equal(await other.isEnabled(), false);
  },
};

const corrupt: Scenario = {
  title:
    'corrupt: a corrupt state reads as fallbackValue with one warning naming where it lies; a switch overwrites it, recorded as unreadable',
  needs: ['corrupt'],
  async run(kit) {
    const logger = captureLogger();
    const s = await kit.service({ fallbackValue: true, logger });
    await s.disable({ by: kit.tag }); // the store holds a state
    const where = await kit.corrupt();
    assert.equal(await s.isEnabled(), true);
    assert.equal(await s.isEnabled(), true);
    assert.equal(logger.warnings.length, 1, `warnings: ${logger.warnings.join(' | ')}`);
    assert.ok(logger.warnings[0].includes(where), `the warning names ${where}: ${logger.warnings[0]}`);
    const read = await outcome(() => s.getStoredState());
    assert.equal(codeOf(read.error), 'ERR_MAINTENANCE_STATE_CORRUPT', String(read.error));
    assert.ok((read.error as Error).message.includes(where), `the error names ${where}: ${String(read.error)}`);
    await s.enable({ message: 'repaired', by: `${kit.tag}-repair` });
    const [entry] = await s.history(1);
    assert.equal(entry.from, 'unreadable');
    assert.equal(entry.to, 'on');
    assert.equal((await (await kit.service()).getStoredState()).message, 'repaired');
    await s.disable({ by: kit.tag });
    assert.equal(await s.isEnabled(), false);
    assert.ok(
      logger.infos.some((m) => m.includes('readable again')),
      `infos: ${logger.infos.join(' | ')}`,
    );
  },
};

/** Scenarios of a failing store. */
export const FAULTS: readonly Scenario[] = [stalled, killed, restarted, corrupt];
