// Bundles each function of the saga with esbuild: one ESM file per Lambda, for Node 22, minified,
// with a source map. Run `npm run build`; infra and the local mode call buildFunctions() themselves.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { Saga } from '../asl/saga.ts';
import { FUNCTIONS_DIR, handlerModulesOf, type HandlerModule } from './handler-modules.ts';
import { validatorSourceOf } from './validator.ts';

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

/** The module that a Lambda entry imports the saga's validators from: generated at build time, never on disk. */
const VALIDATORS_MODULE = 'saga:validators';

/**
 * The Lambda entry point: configuration read once, at cold start, one DynamoDB client for every invocation, and the
 * saga's validators compiled ahead of time. Imports are relative to functions/, so that a bundle and its source map do
 * not depend on where the checkout is.
 */
const lambdaEntry = ({ module, role }: HandlerModule): string => `
${role === undefined ? `import { createHandler } from ${JSON.stringify(module)};` : `import code from ${JSON.stringify(module)};\nimport { customStepHandler } from './custom-step.ts';`}
import { configFromEnvironment } from './config.ts';
import { defaultClient } from './handlers.ts';
import * as validators from ${JSON.stringify(VALIDATORS_MODULE)};
const dependencies = { config: configFromEnvironment(process.env), client: defaultClient(), validators };
export const handler = ${role === undefined ? 'createHandler(dependencies)' : `customStepHandler(code, ${JSON.stringify(role)}, dependencies)`};
`;

/** Serves the saga's validators (ajv standalone code) to the bundles, resolving their imports from functions/. */
function validatorsPlugin(saga: Saga): Plugin {
  const contents = validatorSourceOf(saga);
  return {
    name: 'saga-validators',
    setup(pluginBuild) {
      // An .mjs path: esbuild then imports ajv's CommonJS helpers as Node does (the default import is module.exports).
      pluginBuild.onResolve({ filter: /^saga:validators$/ }, () => ({ path: 'validators.mjs', namespace: 'saga-validators' }));
      pluginBuild.onLoad({ filter: /.*/, namespace: 'saga-validators' }, () => ({ contents, loader: 'js', resolveDir: FUNCTIONS_DIR }));
    },
  };
}

/**
 * The last build into each folder, in this process. A program run again in one process bundles its saga once: Pulumi's
 * Automation API runs an inline program for a preview and again for the update, and the tests run the program under
 * many settings (none of which changes a bundle). Another saga built into the folder in between overwrites it, and is
 * then the one remembered; the sources are taken as they were at the first build.
 */
const lastBuilds = new Map<string, { readonly saga: Saga; readonly sdk: BuildOptions['sdk']; readonly built: Promise<BuiltFunction[]> }>();

export function buildFunctions(saga: Saga, options: BuildOptions): Promise<BuiltFunction[]> {
  const folder = resolve(options.outDir);
  const last = lastBuilds.get(folder);
  if (last?.saga === saga && last.sdk === options.sdk) return last.built;
  const built = bundle(saga, options);
  lastBuilds.set(folder, { saga, sdk: options.sdk, built });
  // A build that failed is tried again next time.
  built.catch(() => {
    if (lastBuilds.get(folder)?.built === built) lastBuilds.delete(folder);
  });
  return built;
}

/**
 * Serves each function's Lambda entry under its own name, `<State>.lambda.ts` in functions/ (where its imports resolve
 * from): the entries of one build.
 */
function entriesPlugin(handlerModules: readonly HandlerModule[]): Plugin {
  const entries = new Map(handlerModules.map((handlerModule) => [`${FUNCTIONS_DIR}${handlerModule.state}.lambda.ts`, handlerModule]));
  return {
    name: 'saga-entries',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /\.lambda\.ts$/ }, ({ path, kind }) =>
        kind === 'entry-point' ? { path: `${FUNCTIONS_DIR}${path}` } : undefined,
      );
      pluginBuild.onLoad({ filter: /\.lambda\.ts$/ }, ({ path }) => {
        const handlerModule = entries.get(path);
        return handlerModule && { contents: lambdaEntry(handlerModule), loader: 'ts', resolveDir: FUNCTIONS_DIR };
      });
    },
  };
}

/**
 * Every function of the saga in one build: each bundle is whole on its own (no code shared between them), but esbuild
 * reads and parses what they have in common (the AWS SDK, middy, the middleware) once, not once per function.
 */
async function bundle(saga: Saga, options: BuildOptions): Promise<BuiltFunction[]> {
  const handlerModules = handlerModulesOf(saga);
  const result = await build({
    entryPoints: handlerModules.map(({ state }) => ({ in: `${state}.lambda.ts`, out: `${state}/index` })),
    outdir: options.outDir,
    outExtension: { '.js': '.mjs' },
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
    plugins: [entriesPlugin(handlerModules), validatorsPlugin(saga)],
    metafile: true,
    logLevel: 'error',
  });
  const outputs = Object.entries(result.metafile.outputs);
  return handlerModules.map(({ state }) => {
    const dir = `${options.outDir}/${state}`;
    const file = `${dir}/index.mjs`;
    const bytes = outputs.find(([path]) => resolve(path) === resolve(file))?.[1].bytes ?? 0;
    return { state, dir, file, bytes };
  });
}

if (import.meta.main) {
  // `npm run build -- --saga FILE`: the same step list that every command takes (--saga, else saga.ts).
  const { loadSaga } = await import('../bin/saga-module.ts');
  const sagaIndex = process.argv.indexOf('--saga');
  const saga = await loadSaga(sagaIndex === -1 ? undefined : process.argv[sagaIndex + 1]);
  const outDir = fileURLToPath(new URL('../dist/functions', import.meta.url));
  for (const built of await buildFunctions(saga, { outDir, sdk: process.argv.includes('--runtime-sdk') ? 'runtime' : 'bundled' })) {
    console.log(`${built.state.padEnd(16)} ${(built.bytes / 1024).toFixed(1).padStart(7)} KB  ${built.file}`);
  }
}
