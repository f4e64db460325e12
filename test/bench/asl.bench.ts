// Render + validate time of the saga definition for 3, 30 and 300 steps, and its size per step. A script, not a test:
// timings on shared machines are for reading, not for asserting. Run with `npm run bench`.
import { AslValidationError, definitionProblems, placeholderResources, renderSaga, type Saga } from '../../asl/index.ts';
import { sagaOfSize, tripSagaOfSize } from '../helpers/saga-shapes.ts';

const RUNS = 51;
/** AWS's largest definition, in bytes of its JSON. */
const DEFINITION_LIMIT_BYTES = 1024 * 1024;
/** What a step may take of it: 2.2 KB (of 1,024 bytes, as the 1 MB is of 1,024 KB), so that 450 steps and more fit. */
const TARGET_BYTES_PER_STEP = 2.2 * 1024;

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

/** The definition's bytes (its JSON, as deployed) for a saga of the trip's input with `size` steps. */
const bytesOf = (size: number): number => {
  const saga = tripSagaOfSize(size);
  return new TextEncoder().encode(JSON.stringify(renderSaga(saga, placeholderResources(saga)))).length;
};
// Per step, from the growth between two sizes, so that the fixed part (endings, top-level comment) is not counted.
const perStep = (bytesOf(300) - bytesOf(100)) / 200;
/** Whether the renderer, which refuses a definition over AWS's limit, renders the trip's input with `size` steps. */
const fits = (size: number): boolean => {
  try {
    return bytesOf(size) <= DEFINITION_LIMIT_BYTES;
  } catch (error) {
    if (error instanceof AslValidationError) return false;
    throw error;
  }
};
let fitting = Math.floor(DEFINITION_LIMIT_BYTES / perStep);
while (fits(fitting + 1)) fitting += 1;
while (!fits(fitting)) fitting -= 1;
console.log(
  `\nDefinition size, the trip's input with N steps (placeholder ARNs): ${perStep.toFixed(0)} bytes per step, ` +
    `${(perStep / 1024).toFixed(2)} KB (target ≤ 2.2 KB: ${perStep <= TARGET_BYTES_PER_STEP ? 'met' : 'NOT met'}); ` +
    `${fitting} steps fit in AWS's 1 MB (${bytesOf(fitting)} bytes).`,
);
console.log(`Node ${process.version}, ${process.arch}.`);
