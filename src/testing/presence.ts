/**
 * Contract scenarios of presence: services that join the fleet of the store are listed, acknowledge switches, are
 * waited for while work they let in runs, and stop being waited for when they stop reporting.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { MaintenanceService } from '../service/service.js';
import { type ContractKit, outcome, PATIENCE_MS, pushesReach, sleep, until } from './kit.js';
import { codeOf, type Scenario } from './scenario.js';

/**
 * The heartbeat of members where a scenario is not about heartbeats: far longer than any wait (PATIENCE_MS), so what
 * settles was settled by push, not by the next report.
 */
const HEARTBEAT_MS = 60_000;

/** A service of this process that joined the fleet, reporting every `intervalMs`. */
export async function member(kit: ContractKit, intervalMs = HEARTBEAT_MS): Promise<MaintenanceService> {
  const s = await kit.service({ cacheTtlMs: 60_000 });
  s.joinFleet({ intervalMs });
  return s;
}

/** The live instances of this process that `admin` lists. */
export async function liveHere(admin: MaintenanceService): Promise<number> {
  const fleet = await admin.fleet();
  return fleet.instances.filter((i) => !i.stale && i.pid === process.pid).length;
}

/** A presence record as an instance writes it, with `over` forged in. */
export function forgedRecord(id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  const base = { id, host: 'forged', pid: 1, version: '0.0.0', startedAt: now, lastSeen: now, applied: 0 };
  return { ...base, inFlight: 0, held: 0, intervalMs: 5000, ...over };
}

const listed: Scenario = {
  title:
    'presence: the fleet lists every service that joined (host, pid, version), and forgets one at once when it closes',
  needs: ['presence'],
  async run(kit) {
    const a = await member(kit);
    const b = await member(kit);
    const admin = await kit.service();
    await until('both members listed', async () => (await liveHere(admin)) === 2);
    const mine = (await admin.fleet()).instances.filter((i) => !i.stale && i.pid === process.pid);
    for (const i of mine) {
      assert.equal(i.host, hostname());
      assert.match(i.version, /^\d+\.\d+\.\d+/);
      assert.equal(i.inFlight, 0);
      assert.equal(i.held, 0);
    }
    assert.notEqual(mine[0].id, mine[1].id);
    await b.close();
    assert.equal(await liveHere(admin), 1, 'a closed member is forgotten at once');
    assert.equal(a.closed, false);
  },
};

const acknowledged: Scenario = {
  title: 'presence: waitForFleet() settles by push once every member applied the switch, long before a heartbeat',
  needs: ['presence', 'push'],
  async run(kit) {
    const members = [await member(kit), await member(kit)];
    const admin = await kit.service();
    await until('both members listed', async () => (await liveHere(admin)) === 2);
    await pushesReach(admin, members); // their subscriptions are up
    await admin.enable({ message: 'migrating', by: kit.tag });
    const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
    const mine = fleet.instances.filter((i) => !i.stale && i.pid === process.pid);
    assert.equal(mine.length, 2);
    for (const i of mine) assert.ok(i.applied >= fleet.revision, `applied ${i.applied} of ${fleet.revision}`);
    await admin.disable({ by: kit.tag });
  },
};

const drained: Scenario = {
  title: 'presence: waitForFleet() waits for work a member let in before the switch, and the member reports it',
  needs: ['presence', 'push'],
  async run(kit) {
    const m = await member(kit);
    const admin = await kit.service();
    await until('the member listed', async () => (await liveHere(admin)) === 1);
    await pushesReach(admin, [m]); // its subscription is up
    let release: () => void = () => undefined;
    let started = false;
    const job = m.guard(() => {
      started = true;
      return new Promise<void>((done) => (release = done));
    });
    await until('the job runs', () => started);
    await admin.enable({ by: kit.tag });
    let settled = false;
    const waiting = admin.waitForFleet({ timeoutMs: PATIENCE_MS }).finally(() => (settled = true));
    const reported = async () => (await admin.fleet()).instances.some((i) => i.pid === process.pid && i.inFlight === 1);
    await until('the member reports the job in flight', async () => settled || (await reported()));
    await sleep(300);
    assert.equal(settled, false, 'the wait ended while work let in before the switch still ran');
    release();
    assert.deepEqual(await job, { ran: true, value: undefined });
    const fleet = await waiting;
    assert.equal(fleet.instances.find((i) => i.pid === process.pid && !i.stale)?.inFlight, 0);
    await admin.disable({ by: kit.tag });
  },
};

const silent: Scenario = {
  title:
    'presence: a member that stops reporting (as if killed with -9) is waited for, named in the timeout, then stale after 3 intervals',
  needs: ['presence', 'forgePresence'],
  async run(kit) {
    const admin = await kit.service();
    await admin.enable({ by: kit.tag });
    const id = `${kit.tag}-dead`;
    await kit.forgePresence(id, JSON.stringify(forgedRecord(id, { pid: 999_999, inFlight: 1, intervalMs: 1000 })));
    const late = await outcome(() => admin.waitForFleet({ timeoutMs: 600 }));
    assert.equal(codeOf(late.error), 'ERR_MAINTENANCE_FLEET_TIMEOUT', String(late.error));
    assert.match((late.error as Error).message, /forged pid 999999 \(applied 0 of \d+, 1 in flight\)/);
    const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
    assert.equal(fleet.instances.find((i) => i.id === id)?.stale, true);
    await admin.disable({ by: kit.tag });
  },
};

/** Scenarios of presence. */
export const PRESENCE: readonly Scenario[] = [listed, acknowledged, drained, silent];
