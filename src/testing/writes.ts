/**
 * Contract scenarios of writes whose outcome the writer cannot know: one that times out on the client says so
 * (`ERR_MAINTENANCE_STORE_WRITE_UNKNOWN`), never looks like a success or a failure, and lands whole if it lands. And
 * of conditional writes: a commit made on a revision that is no longer the store's lands nothing.
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

const CONFLICT = 'ERR_MAINTENANCE_STORE_CONFLICT';

const conditional: Scenario = {
  title:
    'writes: a commit made on a revision that is no longer the store’s (ifRevision) is refused with ERR_MAINTENANCE_STORE_CONFLICT and lands nothing; on the current one it lands',
  async run(kit) {
    const service = await kit.service();
    const store = await kit.store();
    const options = { historyLimit: 200, warn: () => undefined };
    const [person, late, mine] = [`${kit.tag}-person`, `${kit.tag}-late`, `${kit.tag}-mine`];
    const change = (by: string, scope?: string) => ({
      ...(scope === undefined ? {} : { scope }),
      state: { enabled: scope !== undefined, updatedBy: by },
      entry: { at: new Date().toISOString(), by, source: 'contract', from: 'on' as const, to: 'off' as const },
    });
    for (const scope of [undefined, `${kit.tag}-scope`]) {
      const seen = await store.revision();
      await service.enable({ by: person, ...(scope === undefined ? {} : { scope }) }); // lands after `seen`
      const now = await store.revision();
      const r = await outcome(() => store.commit({ ...change(late, scope), ifRevision: seen }, options));
      assert.equal(codeOf(r.error), CONFLICT, `a stale commit (scope ${scope}) was not refused: ${String(r.error)}`);
      assert.equal(await store.revision(), now, 'a refused commit took a revision');
      assert.equal((await service.getStoredState(scope)).updatedBy, person, 'a refused commit wrote the state');
      const landed = await store.commit({ ...change(mine, scope), ifRevision: now }, options);
      assert.equal(landed, now + 1);
      assert.equal((await service.getStoredState(scope)).updatedBy, mine);
      if (scope !== undefined) await service.disable({ scope });
    }
    const bys = (await service.history(20)).map((e) => e.by);
    assert.equal(bys.includes(late), false, 'a refused commit added its history entry');
    assert.equal(bys.includes(mine), true);
  },
};

/** The scenarios of writes on a healthy store: one that outlasts its bound, one made on a stale revision. */
export const WRITES: readonly Scenario[] = [timedOut, conditional];

/** The scenario of a write held by a failing store. */
export const WRITES_FAILING: readonly Scenario[] = [heldByStall];
