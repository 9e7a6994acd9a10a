/**
 * Contract scenarios of presence while the store fails: a member keeps serving (its heartbeats never in a request's
 * way), says so at most once per outage, and is listed again once the store is back.
 */
import assert from 'node:assert/strict';
import type { MaintenanceService } from '../service/service.js';
import { BOUND_MS, type CapturedLogger, type ContractKit, captureLogger, outcome, PATIENCE_MS, until } from './kit.js';
import { liveHere } from './presence.js';
import type { Scenario } from './scenario.js';

const CANNOT_REPORT = /cannot report this instance's presence/;

/** A member reporting every 200 ms, listed by an admin service. */
async function listedMember(kit: ContractKit, logger: CapturedLogger) {
  const m = await kit.service({ logger, storeTimeoutMs: 300, cacheTtlMs: 200 });
  m.joinFleet({ intervalMs: 200 });
  const admin = await kit.service();
  await until('the member listed', async () => (await liveHere(admin)) === 1);
  return { m, admin };
}

/** Reads as requests do for 1.5 s: none throws, none takes longer than its bound. */
async function serves(m: MaintenanceService): Promise<void> {
  const end = performance.now() + 1500;
  while (performance.now() < end) {
    const r = await outcome(() => m.isEnabled());
    assert.equal(r.error, undefined);
    assert.ok(r.ms < BOUND_MS, `a read took ${Math.round(r.ms)} ms`);
  }
}

/** Whether `admin` lists a live member of this process that reported after `since` (epoch ms). */
async function reportedSince(admin: MaintenanceService, since: number): Promise<boolean> {
  const fleet = await admin.fleet().catch(() => undefined);
  return (fleet?.instances ?? []).some((i) => !i.stale && i.pid === process.pid && Date.parse(i.lastSeen) > since);
}

const throughKill: Scenario = {
  title:
    'presence: a member keeps serving while the store is gone, says once that it cannot report, and reports again after',
  needs: ['presence', 'kill'],
  timeoutMs: 4 * PATIENCE_MS,
  async run(kit) {
    const logger = captureLogger();
    const { m, admin } = await listedMember(kit, logger);
    await kit.kill();
    try {
      await until('the member says it cannot report', () => logger.warnings.some((w) => CANNOT_REPORT.test(w)));
      await serves(m);
    } finally {
      await kit.restart();
    }
    const back = Date.now();
    await until('the member says it reports again', () => logger.infos.some((i) => i.includes('reports again')));
    assert.equal(logger.warnings.filter((w) => CANNOT_REPORT.test(w)).length, 1, logger.warnings.join(' | '));
    await until('the member listed again', () => reportedSince(admin, back));
  },
};

const throughStall: Scenario = {
  title:
    'presence: a member keeps serving while the store is stalled, says so at most once (and then that it reports again), and is listed again after it',
  needs: ['presence', 'stall'],
  timeoutMs: 4 * PATIENCE_MS,
  async run(kit) {
    const logger = captureLogger();
    const { m, admin } = await listedMember(kit, logger);
    await kit.stall();
    try {
      await serves(m);
      await serves(m); // 3 s: 15 heartbeats due
    } finally {
      await kit.resume();
    }
    const back = Date.now();
    await until('the member listed again', () => reportedSince(admin, back));
    // A report may wait out the stall (then nothing is said), or fail (said once, and that it reports again).
    const said = logger.warnings.filter((w) => CANNOT_REPORT.test(w)).length;
    assert.ok(said <= 1, logger.warnings.join(' | '));
    if (said === 1)
      await until('the member says it reports again', () => logger.infos.some((i) => i.includes('reports again')));
  },
};

/** Scenarios of presence while the store fails. */
export const PRESENCE_FAULTS: readonly Scenario[] = [throughKill, throughStall];
