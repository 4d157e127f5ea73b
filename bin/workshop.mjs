#!/usr/bin/env node
// Launches the `workshop` CLI (TypeScript, loaded through tsx) once the machine has what the command
// needs (bin/prerequisites.mjs): a Node at the floor, the locked packages, jq, Chromium, Docker.
// Plain JavaScript without top-level await, so that a Node too old for the CLI still runs this far
// and says which Node is needed instead of failing with a stack trace.
import { EXIT_PREREQUISITE, prepare, realMachine } from './prerequisites.mjs';

let outcome;
try {
  outcome = prepare(process.argv.slice(2), realMachine());
} catch (error) {
  console.error(`internal error while checking the machine: ${error.stack || error}`);
  process.exit(3);
}
if (outcome.problems.length > 0) {
  for (const problem of outcome.problems) console.error(problem);
  process.exitCode = EXIT_PREREQUISITE;
} else {
  Object.assign(process.env, outcome.env);
  import('tsx/esm/api')
    .then(({ register }) => {
      register();
      return import('../harness/cli/main.ts');
    })
    .catch((error) => {
      console.error(`internal error: ${error.stack || error}`);
      process.exitCode = 3;
    });
}
