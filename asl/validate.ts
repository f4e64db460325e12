import { Ajv, type ValidateFunction } from 'ajv';
import { ALL_ERRORS } from './errors.ts';
import { allStatesOf, edgesOfDefinition, type StateGraph, type StateMachineDefinition } from './model.ts';
import {
  actionRetryOf,
  compensationRetryOf,
  deployedStepsOf,
  FAULT_FIELD,
  fieldsOf,
  forwardRetryOf,
  functionStatesOf,
  functionStatesOfStep,
  isCustomStep,
  isGroup,
  payloadKeyOf,
  pivotIndexOf,
  recordsOf,
  retiredStepsOf,
  roleOf,
  roleOfStage,
  stateNamesOf,
  StepRole,
  stepsOf,
  tableOf,
  type CustomStep,
  type ParallelGroup,
  type RetryPolicy,
  type Saga,
  type SagaResources,
  type SagaStep,
} from './saga.ts';
import { describeSchemaErrors } from './schema-errors.ts';
import { definitionSchema } from './schema.ts';

/** AWS rejects a state machine definition larger than 1 MiB. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;
/** Lambda's limit on a function name, which action and compensation names become. */
const MAX_FUNCTION_NAME_LENGTH = 64;
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** SNS caps an e-mail subject at 100 characters and the alert subject names the saga. */
const MAX_SAGA_NAME_LENGTH = 60;
/** SNS takes a Subject of printable ASCII only: no accents, no line breaks, no control characters. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** An error that lists every problem found, each naming its culprit, rather than stopping at the first. */
abstract class ProblemsError extends Error {
  readonly problems: readonly string[];
  constructor(summary: string, problems: readonly string[]) {
    super(`${summary}:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export class SagaDefinitionError extends ProblemsError {
  override readonly name = 'SagaDefinitionError';
  constructor(problems: readonly string[]) {
    super('invalid step list', problems);
  }
}

export class SagaResourcesError extends ProblemsError {
  override readonly name = 'SagaResourcesError';
  constructor(problems: readonly string[]) {
    super('invalid resource ARNs', problems);
  }
}

export class AslValidationError extends ProblemsError {
  override readonly name = 'AslValidationError';
  constructor(problems: readonly string[]) {
    super('invalid state machine definition', problems);
  }
}

function duplicatesIn(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(values.filter((value) => seen.size === seen.add(value).size))];
}

function retryProblems(owner: string, policy: RetryPolicy): string[] {
  const problems: string[] = [];
  const { intervalSeconds, maxAttempts, backoffRate, maxDelaySeconds } = policy;
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1) {
    problems.push(`${owner}: intervalSeconds must be an integer >= 1, got ${intervalSeconds}`);
  }
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) {
    problems.push(`${owner}: maxAttempts must be an integer >= 0, got ${maxAttempts}`);
  }
  if (!(backoffRate >= 1)) problems.push(`${owner}: backoffRate must be >= 1, got ${backoffRate}`);
  if (!Number.isInteger(maxDelaySeconds) || maxDelaySeconds < intervalSeconds) {
    problems.push(`${owner}: maxDelaySeconds must be an integer >= intervalSeconds, got ${maxDelaySeconds}`);
  }
  return problems;
}

/** A branch that is empty, or not a step: what a step list written in plain JavaScript can hold. */
function branchProblem(group: ParallelGroup, branch: unknown, index: number): string | undefined {
  const where = `group "${group.name}" branch ${index + 1}`;
  if (branch === undefined || branch === null || (typeof branch === 'object' && Object.keys(branch).length === 0)) {
    return `${where} is empty: a branch is one step`;
  }
  if (typeof branch !== 'object' || Array.isArray(branch)) return `${where} is not a step: a branch is one step`;
  if (isGroup(branch as SagaStep | ParallelGroup)) return `${where} is a group ("${(branch as ParallelGroup).name}"): groups do not nest`;
  return undefined;
}

function groupProblems(group: ParallelGroup): string[] {
  const problems: string[] = [];
  if (!FUNCTION_NAME.test(group.name) || group.name.length > MAX_FUNCTION_NAME_LENGTH) {
    problems.push(
      `group "${group.name}": its name must be letters, digits, "-" or "_", start with a letter and have at most ` +
        `${MAX_FUNCTION_NAME_LENGTH} characters (it names the group's Parallel state)`,
    );
  }
  if (!Array.isArray(group.parallel) || group.parallel.length < 2) {
    problems.push(
      `group "${group.name}" has ${Array.isArray(group.parallel) ? group.parallel.length : 'no'} step(s): a group runs at least two at once`,
    );
    return problems;
  }
  return [...problems, ...group.parallel.flatMap((branch, index) => branchProblem(group, branch, index) ?? [])];
}

/** Names every JavaScript object has (`constructor`, `__proto__`, `toString`…): as keys, they resolve to the prototype. */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));
/** Environment names a custom step may declare: not the framework's own, nor the Lambda runtime's. */
const ENVIRONMENT_NAME = /^(?!SAGA_|AWS_|LAMBDA_)[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** A resource a permission names: an ARN, never a wildcard on its own. */
const NAMED_RESOURCE = /^arn:aws[a-z-]*:[a-z0-9-]+:/;

/** A custom step's needs, each named: its code, its environment and its permissions on named resources. */
function needsProblems(step: CustomStep, where: string): string[] {
  const problems: string[] = [];
  // A URL in the saga file; its href once a definition pins the step list.
  if (!(step.code instanceof URL) && typeof step.code !== 'string')
    problems.push(`${where}: code must be the URL of its module, e.g. new URL('./payment.ts', import.meta.url)`);
  for (const name of Object.keys(step.needs?.environment ?? {})) {
    if (!ENVIRONMENT_NAME.test(name)) {
      problems.push(`${where}: environment "${name}" must be letters, digits or "_", and not start with SAGA_, AWS_ or LAMBDA_`);
    }
  }
  (step.needs?.permissions ?? []).forEach((statement, index) => {
    if (statement.actions.length === 0) problems.push(`${where}: permission ${index + 1} names no action`);
    if (statement.resources.length === 0) problems.push(`${where}: permission ${index + 1} names no resource`);
    for (const resource of statement.resources) {
      if (!NAMED_RESOURCE.test(resource))
        problems.push(`${where}: permission ${index + 1}: "${resource}" is not the ARN of a named resource`);
    }
  });
  return problems;
}

function stepProblems(saga: Saga, step: SagaStep, where: string): string[] {
  const problems: string[] = [];
  if (step.name.length === 0) problems.push(`${where}: name is empty`);
  for (const name of [step.name, ...functionStatesOfStep(step)].filter((name) => PROTOTYPE_NAMES.has(name)))
    problems.push(`${where}: "${name}" cannot name a step or a state: every JavaScript object has a property of that name`);
  // At most 64 characters, so that `Alert<compensation>` also stays within a state name's 80.
  for (const stateName of functionStatesOfStep(step)) {
    if (!FUNCTION_NAME.test(stateName) || stateName.length > MAX_FUNCTION_NAME_LENGTH) {
      problems.push(
        `${where}: state "${stateName}" must be letters, digits, "-" or "_", start with a letter and ` +
          `have at most ${MAX_FUNCTION_NAME_LENGTH} characters (it names a Lambda function)`,
      );
    }
  }
  const table = tableOf(step);
  if (table !== undefined && !TABLE_NAME.test(table)) {
    problems.push(`${where}: table "${table}" is not a valid DynamoDB table name`);
  }
  for (const field of recordsOf(step)) {
    if (!fieldsOf(saga).includes(field)) problems.push(`${where}: records unknown field "${field}"`);
  }
  for (const field of duplicatesIn(recordsOf(step))) problems.push(`${where}: records "${field}" twice`);
  if (isCustomStep(step)) problems.push(...needsProblems(step, where));
  if (step.timeoutSeconds !== undefined && !(Number.isInteger(step.timeoutSeconds) && step.timeoutSeconds >= 1)) {
    problems.push(`${where}: timeoutSeconds must be an integer >= 1, got ${step.timeoutSeconds}`);
  }
  problems.push(...retryProblems(`${where} actionRetry`, actionRetryOf(step)));
  problems.push(...roleProblems(step, where));
  return problems;
}

const ROLES: readonly string[] = Object.values(StepRole);

/**
 * A step's role and what goes with it: a compensatable step names its compensation; the pivot and a retriable step
 * name none (nothing undoes them), and only a retriable step has a forward retry.
 */
function roleProblems(step: SagaStep, where: string): string[] {
  const role: unknown = step.role ?? StepRole.Compensatable;
  if (!ROLES.includes(role as string)) return [`${where}: role "${String(role)}" must be one of ${ROLES.join(', ')}`];
  const problems: string[] = [];
  const compensation: unknown = (step as { compensation?: unknown }).compensation;
  if (role === StepRole.Compensatable && (typeof compensation !== 'string' || compensation.length === 0))
    problems.push(`${where}: a compensatable step names its compensation (or is the pivot, or retriable)`);
  if (role !== StepRole.Compensatable && compensation !== undefined)
    problems.push(
      `${where}: a ${role} step declares no compensation (it has "${String(compensation)}"): ` +
        (role === StepRole.Pivot ? 'its success commits the saga, its failure must leave no effect' : 'past the pivot nothing is undone'),
    );
  if (role === StepRole.Retriable) problems.push(...retryProblems(`${where} forwardRetry`, forwardRetryOf(step)));
  else if (step.forwardRetry !== undefined) problems.push(`${where}: only a retriable step has a forwardRetry (this one is ${role})`);
  return problems;
}

/**
 * The order of the saga model: at most one pivot, never in a group; every stage after it retriable (a group's every
 * step), and none before it (nor without one).
 */
function orderProblems(saga: Saga): string[] {
  const problems: string[] = [];
  const pivots = stepsOf(saga).filter((step) => roleOf(step) === StepRole.Pivot);
  if (pivots.length > 1) problems.push(`pivots ${pivots.map((step) => step.name).join(', ')}: a saga has at most one`);
  for (const group of saga.steps.filter(isGroup)) {
    const pivot = group.parallel.find((step) => roleOf(step) === StepRole.Pivot);
    if (pivot !== undefined)
      problems.push(
        `group "${group.name}" holds the pivot "${pivot.name}": a pivot stands alone (a sibling could fail after it committed)`,
      );
    if (group.role !== undefined && !([StepRole.Compensatable, StepRole.Retriable] as string[]).includes(group.role))
      problems.push(`group "${group.name}": role "${String(group.role)}" must be ${StepRole.Compensatable} or ${StepRole.Retriable}`);
    const role = roleOfStage(group);
    for (const step of group.parallel.filter((one) => roleOf(one) !== role && roleOf(one) !== StepRole.Pivot))
      problems.push(`group "${group.name}" is ${role}, and its step "${step.name}" is ${roleOf(step)}: a group's steps share one role`);
  }
  const pivotAt = pivotIndexOf(saga) ?? saga.steps.length;
  saga.steps.forEach((stage, index) => {
    const role = roleOfStage(stage);
    if (index > pivotAt && role !== StepRole.Retriable)
      problems.push(
        `${isGroup(stage) ? 'group' : 'step'} "${stage.name}" comes after the pivot: it must be retriable (nothing past it is undone)`,
      );
    if (index < pivotAt && role === StepRole.Retriable)
      problems.push(
        `${isGroup(stage) ? 'group' : 'step'} "${stage.name}" is retriable ${pivotAt === saga.steps.length ? 'but the saga has no pivot' : 'but comes before the pivot'}: retriable steps follow the pivot`,
      );
  });
  return problems;
}

/** A noun that names states, an error and the payload key: PascalCase, and no key the payload already has. */
const NOUN = /^[A-Z][A-Za-z0-9]{0,39}$/;
const PAYLOAD_KEYS = ['execution', 'retryCount', 'redriveCount'];

/** Problems of the saga's input: its noun, its key field, its fields' names. */
function inputProblems(saga: Saga): string[] {
  const problems: string[] = [];
  if (!NOUN.test(saga.noun) || PAYLOAD_KEYS.includes(payloadKeyOf(saga))) {
    problems.push(`noun "${saga.noun}" must be a PascalCase word of at most 40 letters and digits, not ${PAYLOAD_KEYS.join(', ')}`);
  }
  const fields = fieldsOf(saga);
  if (!fields.includes(saga.keyField)) problems.push(`key field "${saga.keyField}" is not one of the input fields`);
  if ((saga.optional ?? []).includes(saga.keyField))
    problems.push(`key field "${saga.keyField}" cannot be optional: it keys every booking`);
  for (const field of saga.optional ?? [])
    if (!fields.includes(field)) problems.push(`optional field "${field}" is not one of the input fields`);
  if (fields.includes(FAULT_FIELD))
    problems.push(`input field "${FAULT_FIELD}" is the framework's own (the states that fail on purpose): name yours otherwise`);
  return problems;
}

/** Problems of a step list, each naming its culprit; empty when the saga can be rendered. */
export function sagaProblems(saga: Saga): string[] {
  const problems: string[] = [];
  if (saga.name.length === 0 || saga.name.length > MAX_SAGA_NAME_LENGTH) {
    problems.push(`saga name "${saga.name}" must have 1 to ${MAX_SAGA_NAME_LENGTH} characters`);
  }
  if (!PRINTABLE_ASCII.test(saga.name)) {
    problems.push(`saga name "${saga.name}" must be printable ASCII: it is in the alert's SNS Subject, which allows nothing else`);
  }
  problems.push(...inputProblems(saga));
  if (saga.steps.length === 0) problems.push('the saga has no steps');
  if (saga.timeoutSeconds !== undefined && !(Number.isInteger(saga.timeoutSeconds) && saga.timeoutSeconds >= 1)) {
    problems.push(`timeoutSeconds must be an integer >= 1, got ${saga.timeoutSeconds}`);
  }
  const groups = saga.steps.filter(isGroup);
  const groupFaults = groups.flatMap(groupProblems);
  problems.push(...groupFaults);
  problems.push(...retryProblems('compensationRetry', compensationRetryOf(saga)));
  // The rest reads every step: only a well-formed list of groups has them all.
  if (groupFaults.length > 0) return problems;
  const steps = stepsOf(saga);
  steps.forEach((step, index) => problems.push(...stepProblems(saga, step, `step ${index + 1} (${step.name || 'unnamed'})`)));
  problems.push(...orderProblems(saga));
  const retired = retiredStepsOf(saga);
  retired.forEach((step, index) => problems.push(...stepProblems(saga, step, `retired step ${index + 1} (${step.name || 'unnamed'})`)));
  for (const step of retired.filter((one) => steps.some((current) => current.name === one.name))) {
    problems.push(`retired step "${step.name}" is in the step list too: a step is either run or retired`);
  }
  // Names are unique across groups and steps alike (a group's name is also a state's), and across retired steps,
  // which keep their tables and functions beside the step list's.
  for (const name of duplicatesIn([
    ...groups.map((group) => group.name),
    ...steps.map((step) => step.name),
    ...retired.map((step) => step.name),
  ])) {
    problems.push(`duplicate step name "${name}"`);
  }
  for (const name of duplicatesIn(deployedStepsOf(saga).flatMap((step) => tableOf(step) ?? []))) problems.push(`duplicate table "${name}"`);
  const retiredStates = retired.flatMap(functionStatesOfStep);
  for (const name of duplicatesIn([...stateNamesOf(saga), ...retiredStates])) problems.push(`duplicate state name "${name}"`);
  return problems;
}

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** Problems of the ARNs given for a saga: a function for every action and compensation, and the alert topic. */
export function resourceProblems(saga: Saga, resources: SagaResources): string[] {
  const problems = functionStatesOf(saga).flatMap((state) => {
    const arn = resources.functions[state];
    if (arn === undefined) return [`no function ARN given for state "${state}"`];
    return LAMBDA_ARN.test(arn) ? [] : [`function ARN for state "${state}" is not a Lambda function ARN: "${arn}"`];
  });
  if (!SNS_TOPIC_ARN.test(resources.alertTopic)) {
    problems.push(`alert topic "${resources.alertTopic}" is not an SNS topic ARN`);
  }
  return problems;
}

export function assertValidSaga(saga: Saga): void {
  const problems = sagaProblems(saga);
  if (problems.length > 0) throw new SagaDefinitionError(problems);
}

let compiledSchema: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  compiledSchema ??= new Ajv({ allErrors: true, discriminator: true }).compile(definitionSchema);
  return compiledSchema;
}

function catchAllProblems(where: string, lists: readonly (readonly string[])[]): string[] {
  return lists.flatMap((errors, index) => {
    if (!errors.includes(ALL_ERRORS)) return [];
    if (errors.length > 1) return [`${where}[${index}]: ${ALL_ERRORS} must stand alone in ErrorEquals`];
    if (index !== lists.length - 1) return [`${where}[${index}]: ${ALL_ERRORS} must be in the last entry`];
    return [];
  });
}

/** The graph rules of one state machine or Parallel branch: targets inside it, catch-alls last, everything reachable. */
function graphProblems(graph: StateGraph, scope: string): string[] {
  const problems: string[] = [];
  const names = new Set(Object.keys(graph.States));
  if (!names.has(graph.StartAt)) problems.push(`${scope}StartAt "${graph.StartAt}" is not a state`);
  const edges = edgesOfDefinition(graph);
  for (const edge of edges) {
    if (!names.has(edge.to)) problems.push(`${scope}state "${edge.from}" goes to "${edge.to}", which is not a state`);
  }
  for (const [name, state] of Object.entries(graph.States)) {
    if (state.Type === 'Task') {
      problems.push(
        ...catchAllProblems(
          `state "${name}" Retry`,
          (state.Retry ?? []).map((r) => r.ErrorEquals),
        ),
      );
    }
    if (state.Type === 'Task' || state.Type === 'Parallel') {
      problems.push(
        ...catchAllProblems(
          `state "${name}" Catch`,
          (state.Catch ?? []).map((c) => c.ErrorEquals),
        ),
      );
    }
    if (state.Type === 'Parallel') {
      state.Branches.forEach((branch, index) => problems.push(...graphProblems(branch, `state "${name}" branch ${index + 1}: `)));
    }
  }
  const successors = Map.groupBy(edges, (edge) => edge.from);
  const reached = new Set([graph.StartAt]);
  const frontier = [graph.StartAt];
  for (let name = frontier.pop(); name !== undefined; name = frontier.pop()) {
    for (const { to } of successors.get(name) ?? []) {
      if (!reached.has(to)) {
        reached.add(to);
        frontier.push(to);
      }
    }
  }
  for (const name of names) if (!reached.has(name)) problems.push(`${scope}state "${name}" is unreachable from StartAt`);
  return problems;
}

/** Problems of a definition: the schema of our ASL subset, then the graph rules, each naming its culprit. */
export function definitionProblems(definition: unknown): string[] {
  const validate = schemaValidator();
  if (!validate(definition)) {
    return describeSchemaErrors(validate.errors, '(root)');
  }
  const machine = definition as StateMachineDefinition;
  const problems = graphProblems(machine, '');
  // Step Functions wants a state's name unique in the whole machine, its branches included.
  for (const name of duplicatesIn(allStatesOf(machine).map(([name]) => name))) {
    problems.push(`state name "${name}" is used more than once (in a Parallel branch and elsewhere)`);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(machine)).length;
  if (bytes > MAX_DEFINITION_BYTES) {
    problems.push(`definition is ${bytes} bytes, over AWS's limit of ${MAX_DEFINITION_BYTES}`);
  }
  return problems;
}

export function assertValidDefinition(definition: unknown): asserts definition is StateMachineDefinition {
  const problems = definitionProblems(definition);
  if (problems.length > 0) throw new AslValidationError(problems);
}
