// Render + validate time of the saga definition for 3, 30 and 300 steps. A script, not a test:
// timings on shared machines are for reading, not for asserting. Run with `npm run bench`.
import { definitionProblems, placeholderResources, renderSaga, type Saga } from '../../asl/index.ts';
import { sagaOfSize } from '../helpers/saga-shapes.ts';

const RUNS = 51;

function timeMs(action: () => unknown): number {
  const started = performance.now();
  action();
  return performance.now() - started;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const format = (ms: number): string => ms.toFixed(2);

// The first render in the process pays for compiling the ASL schema once.
const firstSaga = sagaOfSize(3);
const coldMs = timeMs(() => renderSaga(firstSaga, placeholderResources(firstSaga)));

const rows = [3, 30, 300].map((size) => {
  const saga: Saga = sagaOfSize(size);
  const resources = placeholderResources(saga);
  const definition = renderSaga(saga, resources);
  const renderRuns = Array.from({ length: RUNS }, () => timeMs(() => renderSaga(saga, resources)));
  const validateRuns = Array.from({ length: RUNS }, () => timeMs(() => definitionProblems(definition)));
  const sorted = [...renderRuns].sort((a, b) => a - b);
  return [
    String(size),
    String(Object.keys(definition.States).length),
    String(new TextEncoder().encode(JSON.stringify(definition)).length),
    format(median(renderRuns)),
    format(sorted[Math.floor(sorted.length * 0.95)] as number),
    format(median(validateRuns)),
  ];
});

const header = ['steps', 'states', 'bytes', 'render+validate median ms', 'p95 ms', 'validate alone median ms'];
console.log(`| ${header.join(' | ')} |`);
console.log(`| ${header.map(() => '---:').join(' | ')} |`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(
  `\n${RUNS} runs each after one warm-up render; the first render of the process (3 steps, compiling the schema) took ${format(coldMs)} ms.`,
);
console.log(`Node ${process.version}, ${process.arch}.`);
