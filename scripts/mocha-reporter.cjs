// Spec reporter plus the closing line CI reads: "N passed, N failed, N skipped".
// Before it, one line names the Debian packages whose tests were skipped (see test/helpers/system.ts).
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;
const MISSING = Symbol.for('koa-maintenance-mode.test.missing-packages');
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
    });
  }
}
module.exports = SpecWithSummary;
