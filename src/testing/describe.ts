/**
 * `describeMaintenanceStore(name, factory)`: declares the contract suite for one store with the runner's `describe` and
 * `it` — the same behaviour and failure scenarios for every store, each skipped (naming why) only when the factory
 * says the store lacks what it needs.
 */
import { BEHAVIOUR } from './behaviour.js';
import { CLAIMS } from './claims.js';
import { checkFactory, lacking, type MaintenanceStoreFactory } from './factory.js';
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

/** Why `scenario` cannot run on the factory's store, if it cannot. */
function whySkipped(factory: MaintenanceStoreFactory, scenario: Scenario): string | undefined {
  if (factory.unavailable !== undefined) return factory.unavailable;
  for (const need of scenario.needs ?? []) {
    const why = lacking(factory, need);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Declares every group's scenarios; each test makes its kit, which the `afterEach` cleans up. */
function declareScenarios(runner: Runner, factory: MaintenanceStoreFactory): void {
  let current: KitLifecycle | undefined;
  runner.afterEach(CLEANUP_MS, async () => {
    const done = current;
    current = undefined;
    await done?.cleanUp();
  });
  for (const [group, scenarios] of GROUPS) {
    runner.describe(group, () => {
      for (const scenario of scenarios) {
        const why = whySkipped(factory, scenario);
        if (why !== undefined) {
          runner.skip(`${scenario.title} (skipped: ${why})`);
          continue;
        }
        runner.test(scenario.title, scenario.timeoutMs ?? SCENARIO_MS, async () => {
          current = createKit(factory);
          await scenario.run(current.kit);
        });
      }
    });
  }
}

/**
 * Declares the store contract suite for the store `factory` opens, under `describe(name)`: the behaviour every store
 * must have (state, history, scopes, leases, tokens, writes whose outcome is unknown, push, presence, claims) and how
 * it must fail (stalled, killed, restarted, corrupt), all through the public `MaintenanceService`. A scenario is
 * skipped, with the reason in its title, only when the factory turns off a capability it needs or gives no fault
 * control it needs. Runs under mocha, Jest and Vitest, from their global `describe`/`it` or those in `runner`.
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
  r.describe(`the store contract: ${name}`, () => {
    if (factory.unavailable === undefined) {
      r.beforeAll(SETUP_MS, async () => void (await factory.setup?.()));
      r.afterAll(SETUP_MS, async () => void (await factory.teardown?.()));
    }
    declareScenarios(r, factory);
  });
}
