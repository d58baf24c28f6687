// Mocha's spec reporter, plus one plain closing line ("mocha: N passed, N failed, N skipped")
// that CI systems read regardless of the test runner.
'use strict';
const Mocha = require('mocha');

class KeywardReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`\nmocha: ${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = KeywardReporter;
