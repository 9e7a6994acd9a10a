/**
 * Contract scenarios of forged and broken presence records: whatever a forger (or a broken writer) puts where the
 * store keeps presence is stale, never waited for, and never breaks a listing.
 */
import assert from 'node:assert/strict';
import type { Fleet } from '../core/presence.js';
import type { MaintenanceService } from '../service/service.js';
import { type ContractKit, PATIENCE_MS, until } from './kit.js';
import { forgedRecord, liveHere, member } from './presence.js';
import type { Scenario } from './scenario.js';

/** An ISO instant `ms` from now. */
const at = (ms: number) => new Date(Date.now() + ms).toISOString();

/**
 * A member of this process in the fleet, a switch made, then `forged` written (ids prefixed with the tag): the wait
 * must settle with the member as the only live instance, as it would time out waiting for a forgery.
 */
async function waitPast(
  kit: ContractKit,
  forged: Record<string, string>,
): Promise<{ fleet: Fleet; admin: MaintenanceService }> {
  await member(kit, 200);
  const admin = await kit.service();
  await until('the member listed', async () => (await liveHere(admin)) === 1);
  await admin.enable({ by: kit.tag });
  for (const [id, text] of Object.entries(forged)) await kit.forgePresence(`${kit.tag}-${id}`, text);
  const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
  const live = fleet.instances.filter((i) => !i.stale);
  assert.deepEqual(
    live.map((i) => i.pid),
    [process.pid],
    'only the real member is live',
  );
  assert.ok(live[0].applied >= fleet.revision);
  await admin.disable({ by: kit.tag });
  return { fleet, admin };
}

/** The records of `fleet` written by this scenario, by the ids it gave them (without the tag). */
const forgedIn = (kit: ContractKit, fleet: Fleet) =>
  fleet.instances
    .filter((i) => String(i.id).startsWith(`${kit.tag}-`))
    .map((i) => ({ ...i, id: String(i.id).slice(kit.tag.length + 1) }));

const fromTheFuture: Scenario = {
  title: 'forged presence: a record from the year 2999 is not waited for, and is listed as stale',
  needs: ['presence', 'forgePresence'],
  async run(kit) {
    const id = `${kit.tag}-future`;
    const { fleet, admin } = await waitPast(kit, {
      future: JSON.stringify(forgedRecord(id, { lastSeen: '2999-01-01T00:00:00.000Z' })),
    });
    assert.deepEqual(
      forgedIn(kit, fleet).map((i) => [i.id, i.stale]),
      [['future', true]],
    );
    assert.equal((await admin.fleet()).instances.find((i) => i.id === id)?.stale, true);
  },
};

const wrongTypes: Scenario = {
  title: 'forged presence: records whose lastSeen is no date, or whose fields have the wrong types, are stale',
  needs: ['presence', 'forgePresence'],
  async run(kit) {
    const rec = (id: string, over: Record<string, unknown>) => JSON.stringify(forgedRecord(`${kit.tag}-${id}`, over));
    const { fleet } = await waitPast(kit, {
      text: rec('text', { lastSeen: 'not a date' }),
      number: rec('number', { lastSeen: Date.now() }),
      interval: rec('interval', { intervalMs: 1e12 }),
      applied: rec('applied', { applied: '0', inFlight: '2' }),
    });
    assert.deepEqual(
      forgedIn(kit, fleet)
        .map((i) => [i.id, i.stale])
        .sort(),
      [
        ['applied', true],
        ['interval', true],
        ['number', true],
        ['text', true],
      ],
    );
  },
};

const justAhead: Scenario = {
  title: 'forged presence: a record from just inside the clock skew allowance is stale once unchanged for 3 intervals',
  needs: ['presence', 'forgePresence'],
  async run(kit) {
    const id = `${kit.tag}-ahead`;
    const { fleet } = await waitPast(kit, {
      ahead: JSON.stringify(forgedRecord(id, { lastSeen: at(20_000), intervalMs: 200 })),
    });
    assert.equal(fleet.instances.find((i) => i.id === id)?.stale, true);
  },
};

const noRecord: Scenario = {
  title: 'forged presence: values that are no record at all (null, an array, a text, no id) are skipped',
  needs: ['presence', 'forgePresence'],
  async run(kit) {
    const { fleet, admin } = await waitPast(kit, { n: 'null', a: '[1]', t: '"text"', o: '{}', i: '{"id":5}' });
    assert.deepEqual(forgedIn(kit, fleet), []);
    assert.deepEqual(forgedIn(kit, await admin.fleet()), []);
    assert.equal(
      (await admin.fleet()).instances.filter((i) => i.id === undefined || typeof i.id !== 'string').length,
      0,
      'a listing holds records with an id only',
    );
  },
};

/** Scenarios of forged presence records. */
export const FORGED: readonly Scenario[] = [fromTheFuture, wrongTypes, justAhead, noRecord];
