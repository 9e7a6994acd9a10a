// Spec reporter plus the closing line CI reads: "N passed, N failed, N skipped".
// Before it, one line names the Debian packages whose tests were skipped (see test/helpers/system.ts).
// After it, the run must end: child processes are ended by test/helpers/root-hooks.ts; anything else a test left open
// (a socket, a reconnecting client, a timer) gets LINGER_MS, then is named and the process exits with mocha's code.
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;
const MISSING = Symbol.for('koa-maintenance-mode.test.missing-packages');
const LINGER_MS = 30_000;
class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const missing = [...(globalThis[MISSING] ?? [])].sort();
      if (missing.length > 0) {
        process.stdout.write(
          `Skipped ${s.pending} tests that need ${missing.join(' and ')}: to run them, apt-get install ${missing.join(' ')}\n`,
        );
      }
      process.stdout.write(`${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
      const linger = setTimeout(() => {
        const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
        process.stderr.write(
          `The run ended ${LINGER_MS / 1000} s ago, but what a test left open keeps the process alive (${open.join(', ')}): exiting.\n`,
        );
        process.exit(); // with mocha's exit code (its 'exit' listener sets the number of failures)
      }, LINGER_MS);
      linger.unref(); // it does not keep the process alive itself
    });
  }
}
module.exports = SpecWithSummary;
