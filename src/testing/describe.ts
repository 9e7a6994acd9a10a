/**
 * `describeMaintenanceStore(name, factory)`: declares the contract suite for one store with the runner's `describe` and
 * `it` — the same behaviour and failure scenarios for every store. A scenario that needs what the factory says the
 * store lacks (a capability turned off, a fault control not given) is not declared: the suite's title names the
 * failure scenarios left out, and one test checks that the store really lacks the capabilities turned off.
 */

import assert from 'node:assert/strict';
import type { KeyvLike } from '../core/keyv-like.js';
import { MaintenanceService } from '../service/service.js';
import { fromKeyv } from '../store/keyv/from-keyv.js';
import { isMaintenanceStore } from '../store/maintenance-store.js';
import { BEHAVIOUR } from './behaviour.js';
import { CLAIMS } from './claims.js';
import { CAPABILITIES, type ContractNeed, checkFactory, lacking, type MaintenanceStoreFactory } from './factory.js';
import { FAULTS } from './faults.js';
import { FORGED } from './forged.js';
import { createKit, type KitLifecycle } from './kit.js';
import { PRESENCE } from './presence.js';
import { PRESENCE_FAULTS } from './presence-faults.js';
import { PUSH, PUSH_FAILING } from './push.js';
import { type Runner, runnerOf, type TestRunnerApi } from './runner.js';
import type { Scenario } from './scenario.js';
import { WRITES, WRITES_FAILING } from './writes.js';

/** The scenarios, in groups, in the order they run. */
const GROUPS: ReadonlyArray<readonly [string, readonly Scenario[]]> = [
  ['behaviour: state, history, scopes, leases, tokens, writes', [...BEHAVIOUR, ...WRITES]],
  ['behaviour: push', PUSH],
  ['behaviour: presence', [...PRESENCE, ...FORGED]],
  ['behaviour: claims', CLAIMS],
  ['failure: stall, kill, restart, corrupt data', [...FAULTS, ...WRITES_FAILING, ...PUSH_FAILING, ...PRESENCE_FAULTS]],
];

/** How long the factory's setup and teardown may take (starting a database cluster on a busy machine). */
const SETUP_MS = 180_000;
/** The default timeout of a scenario. */
const SCENARIO_MS = 60_000;
/** How long undoing a scenario's faults and closing its services may take. */
const CLEANUP_MS = 60_000;

/** The first thing `scenario` needs that the factory's store lacks, if any. */
function firstLacking(factory: MaintenanceStoreFactory, scenario: Scenario): ContractNeed | undefined {
  return (scenario.needs ?? []).find((need) => lacking(factory, need) !== undefined);
}

/** The scenarios the factory's store can run, and what the others lack (they are not declared). */
function applicable(factory: MaintenanceStoreFactory) {
  const lacks = new Map<ContractNeed, number>();
  const groups = GROUPS.map(([group, scenarios]) => {
    const runs = scenarios.filter((scenario) => {
      const need = firstLacking(factory, scenario);
      if (need !== undefined) lacks.set(need, (lacks.get(need) ?? 0) + 1);
      return need === undefined;
    });
    return [group, runs] as const;
  });
  return { groups, lacks };
}

/** Declares every group's scenarios; each test makes its kit, which the `afterEach` cleans up. */
function declareScenarios(
  runner: Runner,
  factory: MaintenanceStoreFactory,
  groups: ReturnType<typeof applicable>['groups'],
) {
  let current: KitLifecycle | undefined;
  runner.afterEach(CLEANUP_MS, async () => {
    const done = current;
    current = undefined;
    await done?.cleanUp();
  });
  for (const [group, scenarios] of groups) {
    if (scenarios.length === 0) continue;
    runner.describe(group, () => {
      for (const scenario of scenarios) {
        runner.test(scenario.title, scenario.timeoutMs ?? SCENARIO_MS, async () => {
          current = createKit(factory);
          await scenario.run(current.kit);
        });
      }
    });
  }
}

/**
 * A store the factory says pushes nothing or keeps no presence must really lack it: a store that has it would have
 * its push or its fleet go untested, and a service on a store without presence must say so rather than list nobody.
 */
function declareLacks(runner: Runner, factory: MaintenanceStoreFactory): void {
  const caps = factory.capabilities ?? {};
  if (caps.push !== false && caps.presence !== false) return;
  const lacks = [caps.push === false ? 'no change feed' : '', caps.presence === false ? 'no fleet' : ''].filter(
    Boolean,
  );
  runner.test(`lacks what the factory turns off: ${lacks.join(', ')}`, SCENARIO_MS, async () => {
    const opened = await factory.create();
    const store = isMaintenanceStore(opened) ? opened : fromKeyv(opened as KeyvLike);
    if (caps.push === false) {
      assert.equal(
        store.changeFeed,
        undefined,
        'capabilities.push is false, yet the store has a changeFeed: drop it to test the push',
      );
    }
    if (caps.presence === false) {
      assert.equal(
        store.presence,
        undefined,
        'capabilities.presence is false, yet the store has presence: drop it to test the fleet',
      );
      const service = new MaintenanceService({ store, logger: { warn: () => undefined } });
      try {
        await assert.rejects(service.fleet(), { code: 'ERR_MAINTENANCE_NO_FLEET' });
      } finally {
        await service.close({ timeoutMs: 2000 });
      }
    }
  });
}

/** The suite's title: the store's name, and the failure scenarios left out for want of fault controls. */
function titleOf(name: string, lacks: ReadonlyMap<ContractNeed, number>): string {
  const faults = [...lacks].filter(([need]) => !CAPABILITIES.includes(need));
  if (faults.length === 0) return `the store contract: ${name}`;
  const count = faults.reduce((n, [, k]) => n + k, 0);
  return `the store contract: ${name} (${count} failure scenarios need faults.${faults.map(([n]) => n).join(', faults.')})`;
}

/**
 * Declares the store contract suite for the store `factory` opens, under `describe(name)`: the behaviour every store
 * must have (state, history, scopes, leases, tokens, writes whose outcome is unknown, push, presence, claims) and how
 * it must fail (stalled, killed, restarted, corrupt), all through the public `MaintenanceService`. A scenario that
 * needs a capability the factory turns off or a fault control it does not give is left out (the title counts the
 * failure scenarios left out; one test checks that capabilities turned off are really absent); a store the factory
 * calls `unavailable` is skipped, naming why. Runs under mocha, Jest and Vitest, from their global `describe`/`it` or those in `runner`.
 * @example
 * import { describeMaintenanceStore } from 'koa-maintenance-mode/testing';
 * describeMaintenanceStore('my store', { create: () => createMyStore(url), capabilities: { presence: false } });
 */
export function describeMaintenanceStore(
  name: string,
  factory: MaintenanceStoreFactory,
  runner?: Partial<TestRunnerApi>,
): void {
  checkFactory(name, factory);
  const r = runnerOf(runner);
  if (factory.unavailable !== undefined) {
    r.describe(`the store contract: ${name}`, () => r.skip(`every scenario (skipped: ${factory.unavailable})`));
    return;
  }
  const { groups, lacks } = applicable(factory);
  r.describe(titleOf(name, lacks), () => {
    r.beforeAll(SETUP_MS, async () => void (await factory.setup?.()));
    r.afterAll(SETUP_MS, async () => void (await factory.teardown?.()));
    declareScenarios(r, factory, groups);
    declareLacks(r, factory);
  });
}
