#!/usr/bin/env node
// `npm run maintenance-mode -- …` in this repository: the CLI from dist/ (or from build/ after `npm start` or
// `npm test`), built first when neither exists yet, so a first run never ends in a stack trace.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const built = [join(root, 'dist', 'cli', 'bin.js'), join(root, 'build', 'src', 'cli', 'bin.js')].find(existsSync);
let bin = built;
if (!bin) {
  process.stderr.write('Building the CLI first (npm run build)…\n');
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    process.stderr.write('Error: the CLI could not be built; run `npm install`, then `npm run build`.\n');
    process.exit(1);
  }
  bin = join(root, 'dist', 'cli', 'bin.js');
}
require(bin);
