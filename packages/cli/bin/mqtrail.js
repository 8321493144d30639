#!/usr/bin/env node

// The `mqtrail` command. All logic lives in the compiled library (dist/cli.js), so it can be run
// in-process by tests and by other programs; this shim only hands it the process's arguments and
// turns its result into the exit code.
const { main } = require('../dist/cli.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`mqtrail: unexpected error: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
