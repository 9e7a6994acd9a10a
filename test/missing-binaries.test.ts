import { resolve } from 'node:path';
import { expect } from 'chai';
import { runSync } from './helpers/children.js';

const root = resolve(__dirname, '..', '..');
const mocha = resolve(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const spec = resolve(__dirname, 'fixtures', 'specs', 'needs-missing-binary.js');

function runSuite(ci: string | undefined) {
  const env = { ...process.env };
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  const r = runSync(process.execPath, [mocha, '--no-config', '--reporter', './scripts/mocha-reporter.cjs', spec], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, lines: r.stdout.trim().split('\n') };
}

describe('tests that need a system binary (redis-server, chromium) on a machine without it', function () {
  this.timeout(40_000);

  it('are skipped outside CI, and the run ends green with one line naming the Debian package', () => {
    const r = runSuite(undefined);
    expect(r.status).to.equal(0);
    expect(r.lines.slice(-2)).to.deep.equal([
      'Skipped 1 tests that need kmm-no-such-package: to run them, apt-get install kmm-no-such-package',
      '0 passed, 0 failed, 1 skipped',
    ]);
  });

  it('fail under CI=true, naming the install command', () => {
    const r = runSuite('true');
    expect(r.status).to.not.equal(0);
    expect(r.lines.join('\n')).to.include(
      'kmm-no-such-binary is not installed; CI must install it: apt-get install kmm-no-such-package',
    );
    expect(r.lines.at(-1)).to.equal('0 passed, 1 failed, 0 skipped');
  });
});
