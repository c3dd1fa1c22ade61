/**
 * The bench report: one JSON document per run (scenario, parameters, environment, every figure,
 * gates) that `--json` prints and `--out FILE` writes. NaN figures serialise as null.
 */
import { writeFile } from 'node:fs/promises';
import type { BenchEnvironment } from './environment.js';
import type { GateResult } from './gates.js';

export type Scenario = 'connect' | 'throughput' | 'signaling';

/** Where load was generated: worker threads of the bench process, or child processes (engines that cannot live in threads). */
export type LoadGeneratorKind = 'worker_threads' | 'child_processes';

export interface BenchReport<R = unknown> {
  scenario: Scenario;
  parameters: Record<string, unknown>;
  environment: BenchEnvironment & {
    /** Where load generation ran. */
    loadGenerator: { kind: LoadGeneratorKind; count: number };
  };
  startedAt: string;
  finishedAt: string;
  results: R;
  gates: GateResult[];
  /** True when every gate passed and something connected. */
  passed: boolean;
  /** Set when a gate was missed (GATE_FAILED and which), or when nothing connected (the most frequent failure code, exit 1). */
  error?: { code: string; message: string };
}

/** Writes the report as pretty JSON (the `--out FILE` flag). */
export async function writeReport(path: string, report: BenchReport): Promise<void> {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`, 'utf8');
}
