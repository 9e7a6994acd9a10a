// The README's store contract suite: a store's own test file, run here as a script. The stand-ins below play the test
// runner's globals (mocha, Jest and Vitest define them): they run each test in turn and fail the process on a failure.
type Body = () => unknown;
const queue: Array<{ title: string; run: Body }> = [];
const hooks = { before: [] as Body[], after: [] as Body[], afterEach: [] as Body[] };
const runner = {
  describe: (_title: string, fn: () => void) => fn(),
  it: Object.assign((title: string, run: Body) => void queue.push({ title, run }), { skip: () => undefined }),
  before: (fn: Body) => void hooks.before.push(fn),
  after: (fn: Body) => void hooks.after.push(fn),
  afterEach: (fn: Body) => void hooks.afterEach.push(fn),
};
Object.assign(globalThis, runner);
// #region readme
import Keyv from 'keyv';
import { describeMaintenanceStore } from 'koa-maintenance-mode/testing';

// my-store.test.ts, under mocha, Jest or Vitest: every behaviour and failure scenario of the contract, against your store
const store = new Keyv(); // your MaintenanceStore, or a keyv instance (here: in memory, so one object for every "instance")
describeMaintenanceStore('my store', {
  create: () => store, // what a second app instance would open
  capabilities: { push: false, presence: false, atomic: false }, // what it cannot do (each one is expected otherwise)
  // faults: { stall, resume, kill, restart, corrupt }   // ways to break a server of its own: the failure scenarios
});
// #endregion
for (const fn of hooks.before) await fn();
for (const test of queue) {
  await test.run();
  for (const fn of hooks.afterEach) await fn();
}
for (const fn of hooks.after) await fn();
if (queue.length < 5) throw new Error(`only ${queue.length} contract tests were declared`);
console.log(`${queue.length} contract tests passed`);
