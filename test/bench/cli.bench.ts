// `saga asl` beside a script that imports only asl/ and the saga file and renders (render-only.ts): the wall time of
// each whole process, start-up included, taking turns, and their ratio run by run. A script, not a test: run with
// `npm run bench`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RUNS = 15;
/** What `saga asl` may take at most, against the render-only script (issue 25). */
const TARGET_RATIO = 1.3;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const commands = {
  'saga asl': [fileURLToPath(new URL('../../bin/saga.js', import.meta.url)), 'asl'],
  // Started with the saga command's own start-up caches (bin/compile-cache.js), so that the ratio says what the CLI
  // loads besides, not how it loads.
  'render-only script': [
    '--import',
    new URL('../../bin/compile-cache.js', import.meta.url).href,
    fileURLToPath(new URL('render-only.ts', import.meta.url)),
  ],
} as const;

/** One run's wall time in ms; its output is checked to be a definition, so that a failing run is not timed as fast. */
function wallMs(args: readonly string[]): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (run.status !== 0 || !run.stdout.startsWith('{')) throw new Error(`${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return ms;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

// One warm-up each (the file system's cache), then turns: a change in the machine's load strikes both alike.
for (const args of Object.values(commands)) wallMs(args);
const cli: number[] = [];
const script: number[] = [];
for (let run = 0; run < RUNS; run += 1) {
  cli.push(wallMs(commands['saga asl']));
  script.push(wallMs(commands['render-only script']));
}
const ratio = median(cli.map((ms, run) => ms / (script[run] as number)));

console.log('| command | wall median ms | min ms | max ms |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, times] of [
  ['saga asl', cli],
  ['render-only script', script],
] as const) {
  console.log(`| ${name} | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${Math.max(...times).toFixed(0)} |`);
}
console.log(
  `\n${RUNS} runs each after a warm-up, taking turns; ratio (median of the runs' ratios) ${ratio.toFixed(2)}, ` +
    `target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'met' : 'NOT met'}. Node ${process.version}, ${process.arch}.`,
);
