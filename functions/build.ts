// Bundles each function of the saga with esbuild: one ESM file per Lambda, for Node 22, minified,
// with a source map. Run `npm run build`; infra and the local mode call buildFunctions() themselves.
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { deployedStepsOf, type Saga } from '../asl/saga.ts';
import { SagaDefinitionError } from '../asl/validate.ts';
import { assertValidatorCurrent } from './generate-validator.ts';

export interface BuildOptions {
  /** Where `<State>/index.mjs` (+ `.map`) are written. */
  readonly outDir: string;
  /**
   * Where the AWS SDK comes from: bundled (the default: a pinned version, and faster cold starts as measured
   * by `npm run bench`, see the README) or the Lambda runtime's own.
   */
  readonly sdk?: 'bundled' | 'runtime';
}

export interface BuiltFunction {
  readonly state: string;
  /** The folder to deploy as the function's code; its handler is `index.handler`. */
  readonly dir: string;
  readonly file: string;
  readonly bytes: number;
}

const FUNCTIONS_DIR = fileURLToPath(new URL('.', import.meta.url));
/** The folder of functions/, the saga files and their own step code. */
const PROJECT_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Each function's handler module: the step's own, or the plain booking and cancel modules. A handler module
 * exports `createHandler(dependencies)`: the Lambda entry point calls it with the configuration in the
 * environment, the local mode with its own.
 */
export function handlerModulesOf(saga: Saga): { state: string; module: string; url: string }[] {
  const modules = deployedStepsOf(saga).flatMap((step, index) =>
    [
      { state: step.action, module: `./${step.actionModule ?? 'book.ts'}`, key: 'actionModule', own: step.actionModule },
      {
        state: step.compensation,
        module: `./${step.compensationModule ?? 'cancel.ts'}`,
        key: 'compensationModule',
        own: step.compensationModule,
      },
    ].map((entry) => ({ ...entry, url: new URL(entry.module, import.meta.url), where: `step ${index + 1} (${step.name})` })),
  );
  // Checked with the step list, before anything runs or is bundled: else a typo passes tsc and `saga validate`,
  // and surfaces as ERR_MODULE_NOT_FOUND from the first execution or bundle.
  // A path that climbs out of the project (`../../../x`) is refused as a missing one: a saga file names its own code.
  const problems = modules
    .filter(({ url }) => !fileURLToPath(url).startsWith(PROJECT_DIR) || !statSync(url, { throwIfNoEntry: false })?.isFile())
    .map(
      ({ where, key, own }) =>
        `${where}: ${key} "${own}" is not a file in functions/ (paths are relative to functions/ and stay inside the project)`,
    );
  if (problems.length > 0) throw new SagaDefinitionError(problems);
  return modules.map(({ state, module, url }) => ({ state, module, url: url.href }));
}

/**
 * The Lambda entry point: configuration read once, at cold start, and one DynamoDB client for every invocation.
 * Imports are relative to functions/, so that a bundle and its source map do not depend on where the checkout is.
 */
const lambdaEntry = (module: string): string => `
import { createHandler } from ${JSON.stringify(module)};
import { configFromEnvironment } from './config.ts';
import { defaultClient } from './handlers.ts';
export const handler = createHandler({ config: configFromEnvironment(process.env), client: defaultClient() });
`;

export async function buildFunctions(saga: Saga, options: BuildOptions): Promise<BuiltFunction[]> {
  assertValidatorCurrent();
  return Promise.all(
    handlerModulesOf(saga).map(async ({ state, module }) => {
      const dir = `${options.outDir}/${state}`;
      const file = `${dir}/index.mjs`;
      await mkdir(dir, { recursive: true });
      const result = await build({
        stdin: { contents: lambdaEntry(module), resolveDir: FUNCTIONS_DIR, sourcefile: `${state}.lambda.ts`, loader: 'ts' },
        outfile: file,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        minify: true,
        sourcemap: true,
        // Error classes set `name` themselves; keepNames also keeps stack traces and logs readable.
        keepNames: true,
        // ES module builds first: the SDK's tree-shake far better than its CommonJS ones.
        mainFields: ['module', 'main'],
        external: options.sdk === 'runtime' ? ['@aws-sdk/*'] : [],
        metafile: true,
        logLevel: 'error',
      });
      const output = result.metafile.outputs[Object.keys(result.metafile.outputs).find((path) => path.endsWith('.mjs')) as string];
      return { state, dir, file, bytes: output?.bytes ?? 0 };
    }),
  );
}

if (import.meta.main) {
  const { tripSaga } = await import('../saga.ts');
  const outDir = fileURLToPath(new URL('../dist/functions', import.meta.url));
  for (const built of await buildFunctions(tripSaga, { outDir, sdk: process.argv.includes('--runtime-sdk') ? 'runtime' : 'bundled' })) {
    console.log(`${built.state.padEnd(16)} ${(built.bytes / 1024).toFixed(1).padStart(7)} KB  ${built.file}`);
  }
}
