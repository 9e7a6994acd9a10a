/**
 * Contract scenarios of claims: what no one writes (a change seen by every instance, a window's reminder, start and
 * end) is told once per fleet, by the one instance that claims it in the store.
 */
import assert from 'node:assert/strict';
import type { NotifyTarget } from '../core/notify.js';
import type { MaintenanceService } from '../service/service.js';
import { type ContractKit, PATIENCE_MS, sleep, until } from './kit.js';
import { startReceiver, type WebhookReceiver } from './receiver.js';
import type { Scenario } from './scenario.js';

const SECRET = 'a-secret-of-32-characters-long!!';

/** Two services on the store that tell `receiver` (with a reminder 600 ms before a window). */
async function notifying(kit: ContractKit, receiver: WebhookReceiver, join: boolean): Promise<MaintenanceService[]> {
  const notify: NotifyTarget[] = [{ url: receiver.url, remindBeforeMinutes: [0.01], secret: SECRET }];
  const pair = [await kit.service({ notify }), await kit.service({ notify })];
  if (join) for (const s of pair) s.joinFleet({ intervalMs: 60_000 });
  return pair;
}

/** An ISO instant `seconds` from now. */
const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

const seenByAll: Scenario = {
  title:
    'claims: a change made where nobody notifies (a script, the CLI) is told once, by one of the services that see it',
  needs: ['atomic'],
  timeoutMs: 3 * PATIENCE_MS,
  async run(kit) {
    const receiver = await startReceiver();
    try {
      const script = await kit.service(); // no notify: as the CLI
      await script.disable({ by: `${kit.tag}-setup` });
      const [a, b] = await notifying(kit, receiver, false);
      await Promise.all([a.getState(), b.getState()]);
      const look = async (n: number) => {
        await Promise.all([a.getState(), b.getState()]); // both see it (read, or pushed)
        return receiver.bodies.length >= n;
      };
      await script.enable({ message: 'From a script', by: `cli:${kit.tag}` });
      await until('the change told', () => look(1));
      await script.disable({ by: `cli:${kit.tag}` });
      await until('the second change told', () => look(2));
      await sleep(800); // a second instance telling late would show now
      await look(3);
      assert.deepEqual(receiver.events(), ['enabled', 'disabled']);
      assert.deepEqual((receiver.bodies[0].state as Record<string, unknown>).message, 'From a script');
      assert.equal(JSON.stringify(await script.history()).includes(SECRET), false, 'a webhook secret in the store');
    } finally {
      await receiver.close();
    }
  },
};

const windowEvents: Scenario = {
  title:
    "claims: a switch is told once (by its writer), and a window's reminder, start and end once each (by the claim)",
  needs: ['atomic', 'presence'],
  timeoutMs: 3 * PATIENCE_MS,
  async run(kit) {
    const receiver = await startReceiver();
    try {
      await (await kit.service()).disable({ by: `${kit.tag}-setup` }); // off, untold: nobody notifies yet
      const [a, b] = await notifying(kit, receiver, true);
      await a.enable({ message: 'Now', by: kit.tag });
      await b.disable({ by: kit.tag });
      await until('both switches told', () => receiver.bodies.length === 2);
      // A window 4 s ahead (room for a slow switch before its reminder), 1 s long: scheduled (writer), reminder at
      // 3.4 s, enabled at 4 s, disabled at 5 s.
      await a.enable({ start: inSeconds(4), end: inSeconds(5), message: 'Soon', by: kit.tag });
      await until('the window told', () => receiver.bodies.length === 6);
      await sleep(800); // a second instance telling late would show now
      assert.deepEqual(receiver.events(), ['enabled', 'disabled', 'scheduled', 'reminder', 'enabled', 'disabled']);
      assert.equal(receiver.bodies[3].remindBeforeMinutes, 0.01);
      assert.equal((receiver.bodies[4].state as Record<string, unknown>).active, true);
    } finally {
      await receiver.close();
    }
  },
};

/** Scenarios of claims. */
export const CLAIMS: readonly Scenario[] = [seenByAll, windowEvents];
