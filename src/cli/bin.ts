#!/usr/bin/env node
/** The `maintenance-mode` executable: the process boundary around `main()`. */
import { main } from './cli.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
