// The README's event-loop delay check for autoTrip(). Run by test/readme.test.ts in an empty directory: the check fails
// while the loop is blocked and passes once it is calm again.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { MaintenanceService } from 'koa-maintenance-mode';

const service = new MaintenanceService();

// #region readme
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 20 });
delay.enable();
const loopKeepsUp = () => {
  const p99Ms = delay.percentile(99) / 1e6;   // since the last check
  delay.reset();
  return p99Ms < 200;
};
const stop = service.autoTrip({
  name: 'event-loop',
  check: loopKeepsUp,
  mode: 'on',            // a 503 costs less than any page the app renders
  failAfter: 3,          // 15 s of a loop 200 ms late
  recoverAfter: 6,       // 30 s calm before everyone is let back
  message: 'We are very busy right now. Please try again in a minute.',
});
// #endregion

stop(); // the rest checks the check: no trip runs here
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
delay.reset();
await pause(100);
const blockedUntil = Date.now() + 300;
while (Date.now() < blockedUntil); // a loop blocked for 300 ms
await pause(50);
assert.equal(loopKeepsUp(), false);
await pause(200);
assert.equal(loopKeepsUp(), true);
await service.close();
