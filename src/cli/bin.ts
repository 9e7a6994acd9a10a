#!/usr/bin/env node
/** The `maintenance-mode` executable: the process boundary around `main()`. */
import { main } from './cli.js';

// A reader that stops early (`maintenance-mode fleet | head -1`) is no error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
