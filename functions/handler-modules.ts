// Which module serves each function of a saga, apart from bundling (functions/build.ts), so that a command that
// only checks the step list (saga asl) need not load esbuild.
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deployedStepsOf, isCustomStep, type Saga } from '../asl/saga.ts';
import { SagaDefinitionError } from '../asl/validate.ts';

/** functions/: where handler modules are resolved from. */
export const FUNCTIONS_DIR = fileURLToPath(new URL('.', import.meta.url));
/** The folder of functions/, the saga files and their own step code. */
const PROJECT_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * A function's handler module. A booking step's (the plain book.ts and cancel.ts, or the step's own) exports
 * `createHandler(dependencies)`; a custom step's default-exports its code (`defineStepCode`), which customStepHandler
 * wraps as the step's action or compensation (`role`). The Lambda entry point and the local mode both make the
 * handler so: the one with the configuration in the environment, the other with its own.
 */
export interface HandlerModule {
  readonly state: string;
  /** The module as the Lambda entry imports it: relative to functions/. */
  readonly module: string;
  readonly url: string;
  /** A custom step's: which of its code's functions serves the state. */
  readonly role?: 'action' | 'compensation';
}

/** The path of a module from functions/, as an import specifier. */
const fromFunctionsDir = (url: URL): string => {
  const path = relative(FUNCTIONS_DIR, fileURLToPath(url));
  return path.startsWith('.') ? path : `./${path}`;
};

/** The handler module of each function of the saga, checked to exist: what the bundles and the local mode import. */
export function handlerModulesOf(saga: Saga): HandlerModule[] {
  const modules = deployedStepsOf(saga).flatMap(
    (step, index): (Omit<HandlerModule, 'url'> & { url: URL; where: string; missing: string })[] => {
      const where = `step ${index + 1} (${step.name})`;
      if (isCustomStep(step)) {
        const url = step.code instanceof URL ? step.code : new URL(String(step.code), import.meta.url);
        // A pivot or retriable step has no compensation, and no function for one.
        return (['action', 'compensation'] as const).flatMap((role) => {
          const state = step[role];
          return state === undefined
            ? []
            : [{ state, module: fromFunctionsDir(url), url, role, where, missing: `code ${url.href} is not a file` }];
        });
      }
      return [
        { state: step.action, module: `./${step.actionModule ?? 'book.ts'}`, key: 'actionModule', own: step.actionModule },
        ...(step.compensation === undefined
          ? []
          : [
              {
                state: step.compensation,
                module: `./${step.compensationModule ?? 'cancel.ts'}`,
                key: 'compensationModule',
                own: step.compensationModule,
              },
            ]),
      ].map(({ state, module, key, own }) => ({
        state,
        module,
        url: new URL(module, import.meta.url),
        where,
        missing: `${key} "${own}" is not a file in functions/ (paths are relative to functions/)`,
      }));
    },
  );
  // Checked with the step list, before anything runs or is bundled: else a typo passes tsc and `saga validate`,
  // and surfaces as ERR_MODULE_NOT_FOUND from the first execution or bundle.
  // A path that climbs out of the project (`../../../x`) is refused as a missing one: a saga file names its own code.
  const problems = modules
    .filter(({ url }) => !fileURLToPath(url).startsWith(PROJECT_DIR) || !statSync(url, { throwIfNoEntry: false })?.isFile())
    .map(({ where, missing }) => `${where}: ${missing}`);
  if (problems.length > 0) throw new SagaDefinitionError(problems);
  return modules.map(({ state, module, url, role }) => ({ state, module, url: url.href, ...(role === undefined ? {} : { role }) }));
}
