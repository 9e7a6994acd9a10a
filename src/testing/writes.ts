/**
 * Contract scenarios of writes whose outcome the writer cannot know: one that times out on the client says so
 * (`ERR_MAINTENANCE_STORE_WRITE_UNKNOWN`), never looks like a success or a failure, and lands whole if it lands.
 */
import assert from 'node:assert/strict';
import { BOUND_MS, outcome, sleep, until } from './kit.js';
import { codeOf, type Scenario } from './scenario.js';

const UNKNOWN = 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN';
const NOT_DONE = 'ERR_MAINTENANCE_STORE_WRITE';

/** How long a write on its way when the store answers again may take to land (a busy machine included). */
const SETTLE_MS = 2000;

const timedOut: Scenario = {
  title:
    'writes: a switch that outlasts storeTimeoutMs (1 ms) says its outcome is unknown, never success or failure, and lands with its history entry',
  timeoutMs: 120_000,
  async run(kit) {
    const writer = await kit.service({ storeTimeoutMs: 1 });
    const reader = await kit.service();
    const outcomes: string[] = [];
    const bys = Array.from({ length: 12 }, (_, i) => `${kit.tag}-${i}`);
    for (const [i, by] of bys.entries()) {
      const r = await outcome(() => (i % 2 === 0 ? writer.enable({ by }) : writer.disable({ by })));
      outcomes.push(r.error === undefined ? 'ok' : `${codeOf(r.error)}: ${(r.error as Error).message}`);
      // What timed out on the client lands meanwhile: the next switch waits for it, so none overtakes another.
      await until(`switch ${by} lands`, async () => (await reader.getStoredState()).updatedBy === by);
    }
    assert.deepEqual(
      outcomes.filter((o) => o !== 'ok' && !o.startsWith(`${UNKNOWN}:`)),
      [],
      'outcomes other than success and unknown',
    );
    const entries = (await reader.history(50)).filter((e) => e.by?.startsWith(kit.tag));
    assert.deepEqual(
      entries.map((e) => e.by),
      [...bys].reverse(),
      'every switch landed with its history entry',
    );
  },
};

const heldByStall: Scenario = {
  title:
    'writes: a switch held by a stalled store fails within its bound (outcome unknown, or not done when it never reached the store); once the store answers it has landed whole or not at all, and never after "not done"',
  needs: ['stall'],
  timeoutMs: 120_000,
  async run(kit) {
    const writer = await kit.service({ storeTimeoutMs: 300 });
    const reader = await kit.service();
    const [before, late] = [`${kit.tag}-before`, `${kit.tag}-late`];
    await writer.disable({ by: before });
    await writer.getState(); // connected
    await kit.stall();
    let r: Awaited<ReturnType<typeof outcome>>;
    try {
      r = await outcome(() => writer.enable({ message: 'late', by: late }));
    } finally {
      await kit.resume();
    }
    assert.notEqual(r.error, undefined, 'a write the stalled store never answered resolved as a success');
    const code = codeOf(r.error);
    assert.ok(code === UNKNOWN || code === NOT_DONE, String(r.error)); // not done: no connection could be had in time
    assert.ok(r.ms < BOUND_MS, `the write took ${Math.round(r.ms)} ms: bounded by storeTimeoutMs, not the stall`);
    await until(
      'the store answers again',
      async () => (await outcome(() => reader.getStoredState())).error === undefined,
    );
    await sleep(SETTLE_MS); // what was on its way lands meanwhile
    const stored = await reader.getStoredState();
    const mine = (await reader.history(20)).filter((e) => e.by?.startsWith(kit.tag)).map((e) => `${e.by} ${e.to}`);
    if (stored.updatedBy === late) {
      assert.equal(code, UNKNOWN, 'a write that said it was not done has landed');
      assert.equal(stored.message, 'late');
      assert.deepEqual(mine, [`${late} on`, `${before} off`], 'landed: the state with its history entry');
    } else {
      assert.equal(
        stored.updatedBy,
        before,
        `the state is neither the one before nor the held switch: ${stored.updatedBy}`,
      );
      assert.deepEqual(mine, [`${before} off`], 'not landed: no history entry either');
    }
    await until('the writer converges', async () => (await writer.getState()).updatedBy === stored.updatedBy);
    await writer.disable({ by: `${kit.tag}-after` });
  },
};

/** The scenario of a write that outlasts its bound on a healthy store. */
export const WRITES: readonly Scenario[] = [timedOut];

/** The scenario of a write held by a failing store. */
export const WRITES_FAILING: readonly Scenario[] = [heldByStall];
