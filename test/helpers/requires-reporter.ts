/**
 * The vitest reporter behind requires() (test/helpers/requires.ts): after the run, ONE line naming
 * the suites skipped for a missing program, how many tests that is, and the apt-get line that
 * installs what is missing. Silent when nothing was skipped.
 */
import type { Reporter, TestModule } from 'vitest/node';
import { installLine, type Program } from './requires.js';

export interface SkippedForPrograms {
  tests: number;
  files: string[];
  programs: Program[];
}

/** What requires() skipped in a run. */
export function skippedForPrograms(modules: ReadonlyArray<TestModule>): SkippedForPrograms {
  let tests = 0;
  const files = new Set<string>();
  const programs = new Set<Program>();
  for (const mod of modules) {
    for (const test of mod.children.allTests('skipped')) {
      const missing = test.meta().missingPrograms;
      if (missing === undefined || missing.length === 0) continue;
      tests += 1;
      files.add(mod.relativeModuleId);
      for (const p of missing) programs.add(p);
    }
  }
  return { tests, files: [...files].sort(), programs: [...programs].sort() };
}

/** The summary line (undefined when nothing was skipped). */
export function summaryLine(s: SkippedForPrograms): string | undefined {
  if (s.tests === 0) return undefined;
  return (
    `SKIPPED ${s.tests} test(s) in ${s.files.length} suite(s) because ${s.programs.join(', ')} ${s.programs.length === 1 ? 'is' : 'are'} not installed ` +
    `(${s.files.join(', ')}); to run them: ${installLine(s.programs)}`
  );
}

export class RequiresReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const line = summaryLine(skippedForPrograms(modules));
    if (line === undefined) return;
    const loud = process.stdout.isTTY ? `\x1b[1;33m${line}\x1b[0m` : line;
    process.stdout.write(`\n${loud}\n`);
  }
}
