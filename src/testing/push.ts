/**
 * Contract scenarios of push: a change reaches the other services on the store at once, not when their `cacheTtlMs`
 * runs out. Their readers keep a one-minute cache, so whatever they see within a scenario can only have been pushed.
 */
import assert from 'node:assert/strict';
import type { MaintenanceService } from '../service/service.js';
import { type ContractKit, outcome, PATIENCE_MS, pushesReach, until } from './kit.js';
import { codeOf, type Scenario } from './scenario.js';

/** A service whose cache lasts a minute: it learns of changes within a scenario by push only. */
const reader = (kit: ContractKit): Promise<MaintenanceService> => kit.service({ cacheTtlMs: 60_000 });

/** Local time `minutes` from now in UTC, as a window's `start` ('YYYY-MM-DDTHH:MM'). */
const utcLocal = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString().slice(0, 16);

const everySwitch: Scenario = {
  title: 'push: every switch reaches two other services at once, each reading the store once per change',
  needs: ['push'],
  timeoutMs: 120_000,
  async run(kit) {
    const writer = await kit.service();
    const readers = [await reader(kit), await reader(kit)];
    for (const r of readers) await r.getState(); // subscribes
    await pushesReach(writer, readers);
    const reads = readers.map((r) => r.storeReads);
    const changes = 40;
    for (let i = 0; i < changes; i++) {
      const [want, by] = [i % 2 === 0, `${kit.tag}-${i}`];
      await (want ? writer.enable({ by }) : writer.disable({ by }));
      const seen = () =>
        readers.every((r) => r.lastKnownState().enabled === want && r.lastKnownState().updatedBy === by);
      await until(`switch ${i} pushed to both`, seen);
    }
    const extra = readers.map((r, i) => r.storeReads - reads[i]);
    assert.ok(
      extra.every((n) => n <= changes + 3),
      `reads for ${changes} changes: ${extra.join(', ')}`,
    );
  },
};

const scopedSwitch: Scenario = {
  title: 'push: a scoped switch reaches another service with its scope at once, one read per change',
  needs: ['push'],
  timeoutMs: 120_000,
  async run(kit) {
    const writer = await kit.service();
    const r = await reader(kit);
    const scope = `${kit.tag}-s`;
    await r.scopeStates(); // holds the table of scopes and subscribes
    await pushesReach(writer, [r], scope);
    const reads = r.storeReads;
    for (let i = 0; i < 10; i++) {
      await writer.enable({ scope, message: `window ${i}` });
      await until(`scoped switch ${i} pushed`, () => r.lastKnownState(scope).message === `window ${i}`);
      await writer.disable({ scope });
      await until(`scoped switch off ${i} pushed`, () => !r.lastKnownState(scope).enabled);
    }
    assert.ok(r.storeReads - reads <= 23, `reads for 20 changes: ${r.storeReads - reads}`);
    assert.equal(await r.isEnabled(scope), false);
    assert.deepEqual(
      (await writer.scopes()).filter((s) => s.scope === scope),
      [],
    );
  },
};

const bigMessage: Scenario = {
  title: 'push: a state reaches another service whatever the size of its message (7 kB in three languages)',
  needs: ['push'],
  async run(kit) {
    const writer = await kit.service();
    const r = await reader(kit);
    await r.getState();
    await pushesReach(writer, [r]);
    const message = { en: 'e'.repeat(1000), ja: 'メ'.repeat(1000), zh: '维'.repeat(1000) };
    await writer.enable({ message, by: kit.tag });
    const pushed = () => (r.lastKnownState().message as Record<string, string> | undefined)?.ja === message.ja;
    await until('a 7 kB message pushed', pushed);
    assert.deepEqual(r.lastKnownState().message, message);
    const over = await outcome(() => writer.enable({ message: { ...message, ko: '점'.repeat(1000) } }));
    assert.equal(codeOf(over.error), 'ERR_MAINTENANCE_INVALID_SCHEDULE', String(over.error));
    await writer.disable({ by: kit.tag });
  },
};

const windows: Scenario = {
  title: 'push: a recurring window added on one service is in force on another at once (from memory), and its removal',
  needs: ['push'],
  async run(kit) {
    const writer = await kit.service();
    const r = await reader(kit);
    await r.getState();
    await pushesReach(writer, [r]);
    const id = kit.tag;
    try {
      await writer.addWindow({ id, rrule: 'FREQ=DAILY', tz: 'UTC', start: utcLocal(-1), durationMinutes: 10 });
      await until('the window pushed', () => r.lastKnownState().window === id);
      const reads = r.storeReads;
      for (let i = 0; i < 20; i++) assert.equal(await r.isEnabled(), true);
      assert.equal(r.storeReads, reads, 'the occurrence is computed from memory');
    } finally {
      await writer.removeWindow(id).catch(() => undefined);
    }
    await until('the removal pushed', () => r.lastKnownState().window === undefined);
    assert.equal(await r.isEnabled(), false);
  },
};

const afterRestart: Scenario = {
  title: 'push: after the server restarts, switches are pushed again (services subscribe again by themselves)',
  needs: ['push', 'kill'],
  timeoutMs: 4 * PATIENCE_MS,
  async run(kit) {
    const writer = await kit.service({ storeTimeoutMs: 1000 });
    const r = await reader(kit);
    await r.getState();
    await pushesReach(writer, [r]);
    await kit.kill();
    await kit.restart();
    const by = `${kit.tag}-after-restart`;
    await until(
      'the writer writes again',
      async () => (await outcome(() => writer.enable({ by }))).error === undefined,
    );
    await until('the switch pushed after the restart', () => r.lastKnownState().updatedBy === by);
    await writer.disable({ by: kit.tag });
  },
};

/** Scenarios of push. */
export const PUSH: readonly Scenario[] = [everySwitch, scopedSwitch, bigMessage, windows];

/** The scenario of push across a server restart. */
export const PUSH_FAILING: readonly Scenario[] = [afterRestart];
