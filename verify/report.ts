import { totalBackoffSeconds, type RetryPolicy } from '../asl/saga.ts';
import { visits, type ScenarioResult, type SuiteRun } from './suite.ts';

// What `saga verify` prints: one row per scenario (expected and seen outcome, what each table holds) with the path
// taken and, for a scenario that does not hold, its problems under it; then a verdict.

const MARK = { held: '✓', violated: '✗', skipped: '–' } as const;

function pathCell(result: ScenarioResult): string {
  const [first, second] = result.seen;
  if (result.scenario.kind === 'redrive' && first && second) {
    // From the state the redrive reruns: past the pivot it may be all there is left to do.
    return `${visits(first.path).join(' → ')} ⟲ redrive → ${visits(second.path.slice(first.path.length)).join(' → ')}`;
  }
  return result.seen.map((execution) => visits(execution.path).join(' → ')).join('  |  ');
}

const outcomesCell = (outcomes: readonly string[], kind: ScenarioResult['scenario']['kind']): string =>
  outcomes.join(kind === 'two executions' ? ' + ' : ' → ');

/**
 * The table, its columns aligned, each scenario's path taken on the line under it (paths are long), and the problems
 * of each scenario that does not hold.
 */
export function resultLines(results: readonly ScenarioResult[]): string[] {
  const header = ['', 'scenario', 'expected', 'seen', 'tables'];
  const rows = results.map((result) => [
    MARK[result.status],
    result.scenario.title,
    outcomesCell(result.scenario.outcomes, result.scenario.kind),
    result.status === 'skipped'
      ? `skipped: ${result.notes.join('; ')}`
      : outcomesCell(
          result.seen.map((execution) => execution.outcome),
          result.scenario.kind,
        ),
    result.tables,
  ]);
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((cells) => (cells[column] as string).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...rows.flatMap((cells, index) => {
      const result = results[index] as ScenarioResult;
      return [
        line(cells),
        ...(result.seen.length ? [`     path: ${pathCell(result)}`] : []),
        ...(result.status === 'violated' ? result.notes.map((note) => `     ✗ ${note}`) : []),
      ];
    }),
  ];
}

/** The verdict: how many hold, which do not, which were skipped and why; and what was cleaned up. */
export function verdictLines(run: SuiteRun): string[] {
  const count = (status: ScenarioResult['status']) => run.results.filter((result) => result.status === status);
  const [held, violated, skipped] = [count('held'), count('violated'), count('skipped')];
  const ran = held.length + violated.length;
  const reasons = [...new Set(skipped.flatMap((result) => result.notes))];
  return [
    violated.length === 0
      ? `✓ all ${ran} scenarios run hold the saga's promise`
      : `✗ ${violated.length} of ${ran} scenarios do not hold: ${violated.map((result) => result.scenario.title).join('; ')}`,
    ...(skipped.length ? [`– ${skipped.length} skipped (${reasons.join('; ')})`] : []),
    `Cleaned up ${run.cleanedUp} item${run.cleanedUp === 1 ? '' : 's'}, all of verify's own keys.`,
  ];
}

/** The longest wait between attempts in the suite: a stuck compensation spends its retries twice (before and after its alert). */
export const longestWaitSeconds = (policy: RetryPolicy): number => 2 * totalBackoffSeconds(policy);
