import { functionStatesOfStep, stepsOf, tableOf, type Saga } from '../asl/saga.ts';

// The names the stack gives its resources, and AWS's caps on the names they become: a step list whose names the
// deployment would overrun is refused by `saga validate` and by the stack, before anything is created.

/** Pulumi names a resource after its logical name, plus `-` and 7 random hexadecimal characters. */
const AUTONAME_SUFFIX_LENGTH = 8;

/** The logical names of the resources a function has: the function (named after its Task state), its role, its policy, its log. */
export const functionResourceNames = (state: string) =>
  ({ function: state, role: `${state}-role`, policy: `${state}-policy`, logs: `${state}-logs` }) as const;

/** AWS's caps on the names of a function's resources (CloudWatch Logs' 512 for a log group is out of reach). */
const FUNCTION_NAME_CAPS = {
  function: { cap: 64, what: 'Lambda function name' },
  role: { cap: 64, what: 'IAM role name' },
  policy: { cap: 128, what: 'IAM role policy name' },
} as const;

/** DynamoDB caps a table name at 255 characters; a step's table is named after its `table`. */
const TABLE_NAME_CAP = 255;

/** The longest action or compensation name that every resource named after it can carry, suffix included. */
export const MAX_DEPLOYED_STATE_NAME = Math.min(
  ...Object.entries(FUNCTION_NAME_CAPS).map(
    ([resource, { cap }]) => cap - AUTONAME_SUFFIX_LENGTH - functionResourceNames('')[resource as keyof typeof FUNCTION_NAME_CAPS].length,
  ),
);

/** Names of the step list that a deployment would overrun, each naming its step and what refuses it. */
export function deploymentNameProblems(saga: Saga): string[] {
  return stepsOf(saga).flatMap((step, index) => {
    const where = `step ${index + 1} (${step.name})`;
    const stateProblems = functionStatesOfStep(step).flatMap((state) => {
      const names = functionResourceNames(state);
      const overrun = Object.entries(FUNCTION_NAME_CAPS).flatMap(([resource, { cap, what }]) =>
        names[resource as keyof typeof FUNCTION_NAME_CAPS].length + AUTONAME_SUFFIX_LENGTH > cap ? [`${what} (${cap})`] : [],
      );
      return overrun.length === 0
        ? []
        : [
            `${where}: state "${state}" has ${state.length} characters, over ${MAX_DEPLOYED_STATE_NAME}: deployed, its ` +
              `resources' names would overrun AWS's cap on the ${overrun.join(' and the ')}, with the stack's ${AUTONAME_SUFFIX_LENGTH}-character suffix`,
          ];
    });
    const tableName = tableOf(step) ?? '';
    const table = tableName.length + AUTONAME_SUFFIX_LENGTH;
    const tableProblems =
      tableName === '' || table <= TABLE_NAME_CAP
        ? []
        : [
            `${where}: table "${tableName}" would be named with ${table} characters (the stack's suffix included), over DynamoDB's ${TABLE_NAME_CAP}`,
          ];
    return [...stateProblems, ...tableProblems];
  });
}
