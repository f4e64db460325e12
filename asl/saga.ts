// The declarative description of a saga: an ordered list of steps, each an action with its compensation.
import { RETRIER_DEFAULTS, type Retrier } from './model.ts';

/** How a failed Task is retried. Every field has a documented default per kind of state. */
export interface RetryPolicy {
  /** Seconds before the first retry. */
  readonly intervalSeconds: number;
  /** Retries after the first attempt (0 = no retry). */
  readonly maxAttempts: number;
  /** Multiplier of the interval after each retry. */
  readonly backoffRate: number;
  /** Cap on any one interval, in seconds. */
  readonly maxDelaySeconds: number;
}

/**
 * Actions retry transient faults only, briefly: a booking that keeps failing is better compensated
 * than delayed. @default 3 retries, 1 s then ×2, each at most 8 s, with full jitter
 */
export const DEFAULT_ACTION_RETRY: RetryPolicy = {
  intervalSeconds: 1,
  maxAttempts: 3,
  backoffRate: 2,
  maxDelaySeconds: 8,
};

/**
 * Compensations retry every error, for longer: giving up means paging someone.
 * @default 5 retries, 2 s then ×2, each at most 60 s, with full jitter
 */
export const DEFAULT_COMPENSATION_RETRY: RetryPolicy = {
  intervalSeconds: 2,
  maxAttempts: 5,
  backoffRate: 2,
  maxDelaySeconds: 60,
};

/** @default 3 retries, 1 s then ×2, each at most 10 s */
export const DEFAULT_ALERT_RETRY: RetryPolicy = {
  intervalSeconds: 1,
  maxAttempts: 3,
  backoffRate: 2,
  maxDelaySeconds: 10,
};

/** @default 60 s: longer than the functions' own timeout, so that Lambda, not the state machine, times out first */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 60;

/**
 * A retriable step's own retry, of every error (business ones too: past the pivot nothing can roll back), before it
 * alerts and stops to be redriven. @default 5 retries, 2 s then ×2, each at most 60 s, with full jitter
 */
export const DEFAULT_FORWARD_RETRY: RetryPolicy = {
  intervalSeconds: 2,
  maxAttempts: 5,
  backoffRate: 2,
  maxDelaySeconds: 60,
};

/**
 * The kinds of step of the saga model (Garcia-Molina and Salem, 1987): a compensatable step can be undone; the pivot
 * (at most one) commits the saga when it succeeds; the retriable steps after it are never undone, only retried.
 */
export const StepRole = {
  Compensatable: 'compensatable',
  Pivot: 'pivot',
  Retriable: 'retriable',
} as const;
export type StepRole = (typeof StepRole)[keyof typeof StepRole];

/** What every step has, whatever its kind. */
interface StepBasics {
  /** What the step does, e.g. `Inventory`. */
  readonly name: string;
  /** Name of the action's Task state (and of its function), e.g. `ReserveInventory`. */
  readonly action: string;
  /** Overrides of the action's retry on transient errors (a retriable step's: see forwardRetry). @default DEFAULT_ACTION_RETRY */
  readonly actionRetry?: Partial<RetryPolicy>;
  /** Timeout of the action and the compensation Tasks. @default DEFAULT_TASK_TIMEOUT_SECONDS */
  readonly timeoutSeconds?: number;
}

/** A step that can be undone: its action, and the compensation that undoes it. The default kind. */
interface CompensatableRole {
  /** @default 'compensatable' */
  readonly role?: typeof StepRole.Compensatable;
  /** Name of the compensation's Task state (and of its function), e.g. `ReleaseInventory`. */
  readonly compensation: string;
  readonly forwardRetry?: never;
}

/**
 * The point of no return: once it succeeds the saga is committed, and only retriable steps follow. When it fails,
 * the earlier steps are compensated; it has no compensation, so its failure must leave no effect.
 */
interface PivotRole {
  readonly role: typeof StepRole.Pivot;
  readonly compensation?: never;
  readonly forwardRetry?: never;
}

/**
 * A step after the pivot: never compensated. Its action retries every error with `forwardRetry`, then alerts and stops
 * at a Task state, so that a redrive continues forward from it.
 */
interface RetriableRole {
  readonly role: typeof StepRole.Retriable;
  readonly compensation?: never;
  /** Overrides of its retry of every error. @default DEFAULT_FORWARD_RETRY */
  readonly forwardRetry?: Partial<RetryPolicy>;
}

/** What a step's role says of it: a compensation for a compensatable step, none for the pivot or a retriable step. */
type RoleOfStep = CompensatableRole | PivotRole | RetriableRole;

/**
 * The built-in kind: a booking. Its action writes one item per key in the step's own table, owned by the execution,
 * and its compensation cancels it, leaving a marker that refuses the execution's late writes (functions/bookings.ts).
 */
export type BookingStep<Field extends string = string> = BookingFields<Field> & RoleOfStep;

interface BookingFields<Field extends string> extends StepBasics {
  readonly kind?: 'booking';
  /** Logical name of the step's own DynamoDB table, keyed by the saga's key field. */
  readonly table: string;
  /** The input fields the booking records, besides the key. */
  readonly records: readonly Field[];
  /** The action's own module (path from `functions/`, exporting `createHandler` as `book.ts` does). @default `book.ts` */
  readonly actionModule?: string;
  /** The compensation's own module (path from `functions/`, exporting `createHandler`). @default `cancel.ts` */
  readonly compensationModule?: string;
}

/** An IAM statement a custom step's functions need: actions on named resources (ARNs), nothing wider. */
export interface PermissionStatement {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** What a custom step needs from the stack; the stack grants it, least-privilege, to the step's two functions alone. */
export interface StepNeeds {
  /** Environment values of its functions (names of letters, digits and `_`, not starting `SAGA_` or `AWS_`). */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Logical name of the step's own DynamoDB table, keyed by the saga's key field (one item per key, as a booking's):
   * its functions may read and write items of it, and of no other table.
   */
  readonly table?: string;
  /** Further IAM statements, each on named resources. */
  readonly permissions?: readonly PermissionStatement[];
}

/**
 * A step whose action and compensation are the author's own code (functions/custom-step.ts), wrapped by the same
 * middlewares as a booking step's: the module at `code` default-exports `defineStepCode({ action, compensation })`.
 */
export type CustomStep = CustomFields & RoleOfStep;

interface CustomFields extends StepBasics {
  readonly kind: 'custom';
  /** The step's code, e.g. `new URL('./payment.ts', import.meta.url)` (its href once a definition pins the step list). */
  readonly code: URL;
  readonly needs?: StepNeeds;
}

export type SagaStep<Field extends string = string> = BookingStep<Field> | CustomStep;

export const isCustomStep = (step: SagaStep): step is CustomStep => step.kind === 'custom';

/** The step's own table: a booking's, or the one a custom step declared; none for a custom step without one. */
export const tableOf = (step: SagaStep): string | undefined => (isCustomStep(step) ? step.needs?.table : step.table);

/** The input fields a step records: a booking's; a custom step's code decides its own. */
export const recordsOf = <Field extends string>(step: SagaStep<Field>): readonly Field[] => (isCustomStep(step) ? [] : step.records);

/**
 * Steps whose actions run at once (a Parallel state), for bookings that do not depend on one another. If any of
 * them fails, every compensation of the group runs, at once too, then those of the earlier steps and groups.
 */
export interface ParallelGroup<Field extends string = string> {
  /** Names the group and its Parallel state, e.g. `Travel`. */
  readonly name: string;
  /**
   * The role every step of the group has: a group after the pivot is a group of retriable steps. A group never holds
   * the pivot (a sibling could fail after the saga committed). @default the role of its steps
   */
  readonly role?: typeof StepRole.Compensatable | typeof StepRole.Retriable;
  /** The steps that run at once, at least two; each is one branch. */
  readonly parallel: readonly SagaStep<Field>[];
}

/** One entry of the step list: a step, or a group of steps that run at once. */
export type Stage<Field extends string = string> = SagaStep<Field> | ParallelGroup<Field>;

/**
 * The JSON Schema of one input field: any keyword of JSON Schema (draft-07, as ajv reads it), and this project's own,
 * which any saga may use: `instant: true` (an RFC 3339 date-time, compared exactly), `after: "<field>"` (an instant
 * strictly after the one in that field), `placeName: true` (something visible, no control characters).
 */
export type FieldSchema = Readonly<Record<string, unknown>>;

/** An input, as the saga's example gives it: by a JSON file (whose URL printed commands can pass on), or inline. */
export type ExampleInput<Field extends string = string> = URL | Readonly<Partial<Record<Field, unknown>>>;

/** The input field the framework adds to every saga's input: the states that fail on purpose (functions/faults.ts). */
export const FAULT_FIELD = 'fail';

export interface Saga<Field extends string = string> {
  /** Names the saga in alerts and comments, e.g. `OrderFulfilment`. */
  readonly name: string;
  /**
   * What one input is, in PascalCase, e.g. `Order`: it names what the saga derives from it, the error of an input
   * that fails the schema (`OrderInvalid`), the state that ends such an execution (`OrderRejected`) and the key under
   * which every function receives the input (`order`).
   */
  readonly noun: string;
  /** The input field that keys every booking, e.g. `order_id`. */
  readonly keyField: Field;
  /** Every field the input may carry, with its JSON Schema (see FieldSchema): a step can only record these. */
  readonly input: { readonly [Name in Field]: FieldSchema };
  /** The fields that an input may leave out. @default none: every field is required */
  readonly optional?: readonly Field[];
  /** An input that passes the schema: what `saga run`, `tour`, the console and `saga verify` start from. */
  readonly example: ExampleInput<Field>;
  /** The steps and groups of steps, in the order their actions run. */
  readonly steps: readonly Stage<Field>[];
  /** Overrides of the compensations' retry. @default DEFAULT_COMPENSATION_RETRY */
  readonly compensationRetry?: Partial<RetryPolicy>;
  /** Bound on a whole execution. @default none (Step Functions' own limit) */
  readonly timeoutSeconds?: number;
  /**
   * Steps taken out of `steps` whose table and functions (with their roles) stay deployed: executions that started
   * before the removal run on their own definition, which still calls them, forward or in a rollback, and a redrive
   * may call them for 14 days after such an execution ends. Delete an entry once that window has passed for the
   * last of them (the README's runbook "Changing a deployed saga"). @default none
   */
  readonly retired?: readonly SagaStep<Field>[];
}

/** Every field the input may carry, in the order the saga declares them. */
export const fieldsOf = <Field extends string>(saga: Saga<Field>): Field[] => Object.keys(saga.input) as Field[];

/** The key under which the saga's Tasks pass their functions the context object whole (asl/render.ts). */
export const CONTEXT_KEY = 'context';

const payloadKeys = new Map<string, string>();
/** The key under which every function receives the input: the noun, in camelCase (`order` for `Order`). */
export const payloadKeyOf = ({ noun }: Pick<Saga, 'noun'>): string => {
  // Read several times in every invocation of every function: made once a noun.
  const known = payloadKeys.get(noun);
  if (known !== undefined) return known;
  const key = `${noun.charAt(0).toLowerCase()}${noun.slice(1)}`;
  payloadKeys.set(noun, key);
  return key;
};

/** The error of an input that fails the saga's schema, e.g. `OrderInvalid`: nothing was written. */
export const invalidErrorOf = (saga: Pick<Saga, 'noun'>): string => `${saga.noun}Invalid`;

/** The Fail state that ends an execution whose input failed the schema, e.g. `OrderRejected`. */
export const rejectedStateOf = (saga: Pick<Saga, 'noun'>): string => `${saga.noun}Rejected`;

/** The ARNs a definition refers to: supplied by infra (real), the local mode (local) or the CLI (placeholders). */
export interface SagaResources {
  /** Lambda function ARN by Task state name, one for every action and compensation. */
  readonly functions: Readonly<Record<string, string>>;
  /** SNS topic that hears about a compensation that could not finish. */
  readonly alertTopic: string;
}

/**
 * A typed identity: infers the input's fields from their schemas, so that a step recording an unknown field, or a key
 * field the input lacks, fails to compile, and InputOf can type the input.
 */
export function defineSaga<const Input extends Readonly<Record<string, FieldSchema>>>(
  saga: Saga<Extract<keyof Input, string>> & { readonly input: Input },
): Saga<Extract<keyof Input, string>> & { readonly input: Input } {
  return saga;
}

/** The TypeScript type a field's schema describes, by its `type` keyword; `unknown` where it names none. */
type TypeOfSchema<Schema> = Schema extends { readonly type: 'string' }
  ? string
  : Schema extends { readonly type: 'integer' | 'number' }
    ? number
    : Schema extends { readonly type: 'boolean' }
      ? boolean
      : unknown;

/** The input of one execution of a saga made by defineSaga, typed from its schema, with the fault list every input may carry. */
export type InputOf<S extends { readonly input: Readonly<Record<string, FieldSchema>> }> = {
  -readonly [Field in keyof S['input']]: TypeOfSchema<S['input'][Field]>;
} & {
  /** The states that fail on purpose (functions/faults.ts): demos and `saga verify` only. */
  fail?: string[] | null;
};

/** A group of steps that run at once, e.g. `parallel('Travel', [hotel, flight])`. */
export function parallel<const Field extends string>(name: string, steps: readonly SagaStep<Field>[]): ParallelGroup<Field> {
  return { name, parallel: steps };
}

export const isGroup = <Field extends string>(stage: Stage<Field>): stage is ParallelGroup<Field> => 'parallel' in stage;

/** A step's role in the saga model. @default compensatable */
export const roleOf = (step: SagaStep): StepRole => step.role ?? StepRole.Compensatable;

/** A step that has a compensation: one that is neither the pivot nor retriable. */
export type CompensatableStep<Field extends string = string> = SagaStep<Field> & CompensatableRole;

export const isCompensatable = <Field extends string>(step: SagaStep<Field>): step is CompensatableStep<Field> =>
  roleOf(step) === StepRole.Compensatable && step.compensation !== undefined;

/**
 * A stage's role: its step's, or a group's (its declared one, else its steps', when they agree); validation refuses
 * a group whose steps disagree.
 */
export function roleOfStage(stage: Stage): StepRole {
  if (!isGroup(stage)) return roleOf(stage);
  return (
    stage.role ??
    (stage.parallel.length > 0 && stage.parallel.every((step) => roleOf(step) === StepRole.Retriable)
      ? StepRole.Retriable
      : StepRole.Compensatable)
  );
}

/** Whether a stage's failure is compensated: every stage before the pivot is, whose steps all have compensations. */
export const isCompensatedStage = (stage: Stage): boolean => stepsOfStage(stage).every(isCompensatable);

/** Where the pivot stands in the step list (its index in `steps`), or undefined when the saga has none. */
export function pivotIndexOf(saga: Pick<Saga, 'steps'>): number | undefined {
  const index = saga.steps.findIndex((stage) => !isGroup(stage) && roleOf(stage) === StepRole.Pivot);
  return index < 0 ? undefined : index;
}

/** The pivot step, if the saga has one. */
export const pivotOf = (saga: Pick<Saga, 'steps'>): SagaStep | undefined => {
  const index = pivotIndexOf(saga);
  return index === undefined ? undefined : (saga.steps[index] as SagaStep);
};

/** The steps that have a compensation: those before the pivot. */
export const compensatableStepsOf = <Field extends string>(saga: Saga<Field>): CompensatableStep<Field>[] =>
  stepsOf(saga).filter(isCompensatable);

/** The steps whose failure rolls the saga back: those up to the pivot, the pivot included. */
export const rollbackStepsOf = <Field extends string>(saga: Saga<Field>): SagaStep<Field>[] =>
  stepsOf(saga).filter((step) => roleOf(step) !== StepRole.Retriable);

/** The steps after the pivot, which only go forward: retriable, never compensated. */
export const retriableStepsOf = <Field extends string>(saga: Saga<Field>): SagaStep<Field>[] =>
  stepsOf(saga).filter((step) => roleOf(step) === StepRole.Retriable);

/** The steps of a stage: a group's, or the step itself. */
export const stepsOfStage = <Field extends string>(stage: Stage<Field>): readonly SagaStep<Field>[] =>
  isGroup(stage) ? stage.parallel : [stage];

/** Every step of the saga, groups opened, in step-list order: what has a table, functions and a booking. */
export const stepsOf = <Field extends string>(saga: Saga<Field>): SagaStep<Field>[] => saga.steps.flatMap(stepsOfStage);

/** The steps taken out of the step list but still deployed for the executions that may call them. */
export const retiredStepsOf = <Field extends string>(saga: Saga<Field>): readonly SagaStep<Field>[] => saga.retired ?? [];

/** Every step that has a table and functions deployed: the step list's, then the retired ones. */
export const deployedStepsOf = <Field extends string>(saga: Saga<Field>): SagaStep<Field>[] => [...stepsOf(saga), ...retiredStepsOf(saga)];

/** The pause before the retry numbered `attempt` (0 for the first), before any jitter: ASL's backoff, capped. */
export function backoffSeconds(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.intervalSeconds * policy.backoffRate ** attempt, policy.maxDelaySeconds);
}

/** Every pause of a policy's retries, before any jitter, added up: what a Task that keeps failing waits in all. */
export function totalBackoffSeconds(policy: RetryPolicy): number {
  return Array.from({ length: policy.maxAttempts }, (_, attempt) => backoffSeconds(policy, attempt)).reduce((sum, pause) => sum + pause, 0);
}

/** The policy a rendered retrier carries: the inverse of the renderer's. */
export const retryPolicyOf = (retrier: Retrier): RetryPolicy => ({
  intervalSeconds: retrier.IntervalSeconds ?? RETRIER_DEFAULTS.IntervalSeconds,
  maxAttempts: retrier.MaxAttempts ?? RETRIER_DEFAULTS.MaxAttempts,
  backoffRate: retrier.BackoffRate ?? RETRIER_DEFAULTS.BackoffRate,
  maxDelaySeconds: retrier.MaxDelaySeconds,
});

export function actionRetryOf(step: SagaStep): RetryPolicy {
  return { ...DEFAULT_ACTION_RETRY, ...step.actionRetry };
}

/** A retriable step's retry of every error; for any other step, its action's. */
export function forwardRetryOf(step: SagaStep): RetryPolicy {
  return roleOf(step) === StepRole.Retriable ? { ...DEFAULT_FORWARD_RETRY, ...step.forwardRetry } : actionRetryOf(step);
}

export function compensationRetryOf(saga: Saga): RetryPolicy {
  return { ...DEFAULT_COMPENSATION_RETRY, ...saga.compensationRetry };
}

/** Names of the states the renderer derives, besides each step's action and compensation and the rejected input's. */
export const TerminalState = {
  RolledBack: 'SagaRolledBack',
} as const;

/**
 * The Task that alerts when it gives up, and then stops the execution to be redriven: a step's compensation, or a
 * retriable step's action (the pivot has neither: its failure rolls back).
 */
export const stuckTaskOf = (step: SagaStep): string => step.compensation ?? step.action;

export function alertStateOf(step: SagaStep): string {
  return `Alert${stuckTaskOf(step)}`;
}

/**
 * The stuck Task again, once people were told: it has no catcher, so when it still fails the execution fails at
 * this Task state, and a redrive reruns it (with fresh retries) and goes on: every earlier compensation, or, after
 * the pivot, every later step.
 */
export function retryStateOf(step: SagaStep): string {
  return `Retry${stuckTaskOf(step)}`;
}

/**
 * Where an execution that did not finish is stuck: the step whose compensation (or, past the pivot, whose action) was
 * retried last after its alert.
 */
export function stuckStepOf(saga: Saga, path: readonly string[]): SagaStep | undefined {
  const steps = stepsOf(saga).filter((step) => roleOf(step) !== StepRole.Pivot);
  const retried = path.findLast((state) => steps.some((step) => retryStateOf(step) === state));
  return steps.find((step) => retryStateOf(step) === retried);
}

/** The EXPRESS saga's state that hands a stuck rollback to the rollback machine, in place of the retry. */
export function handOffStateOf(step: SagaStep): string {
  return `HandOff${step.compensation}`;
}

/** A group's compensations, run at once: one Parallel state. */
export function groupCompensationOf(group: ParallelGroup): string {
  return `Compensate${group.name}`;
}

/**
 * The state where a compensated stage's part of a rollback begins: its compensation, or its group's (a group is
 * resumed whole). Only the stages before the pivot have one (isCompensatedStage).
 */
export const compensationEntryOf = (stage: Stage): string => (isGroup(stage) ? groupCompensationOf(stage) : (stage.compensation as string));

/** The state where a stage's actions begin: its action, or its group's Parallel state. */
export const actionEntryOf = (stage: Stage): string => (isGroup(stage) ? stage.name : stage.action);

/**
 * Ends the branch of a grouped step whose EXPRESS hand-off is done, failing the group's compensations (and so the
 * execution) with SagaRollbackHandedOff: a branch cannot go to a state outside it.
 */
export function handedOffStateOf(step: SagaStep): string {
  return `HandedOff${step.compensation}`;
}

/** The rollback machine's own states, besides the compensations (and their alerts and retries) and SagaRolledBack. */
export const RollbackState = {
  ResumeFrom: 'ResumeFrom',
  UnknownCompensation: 'UnknownCompensation',
  HandedOff: 'SagaRollbackHandedOff',
} as const;

/** Every state that the saga's definitions (STANDARD, EXPRESS and the rollback machine) hold, in rendering order. */
export function stateNamesOf(saga: Saga): string[] {
  return [
    ...saga.steps.flatMap((stage) =>
      isGroup(stage) ? [stage.name, ...(isCompensatedStage(stage) ? [groupCompensationOf(stage)] : [])] : [],
    ),
    ...stepsOf(saga).flatMap((step) => [
      step.action,
      ...(isCompensatable(step) ? [step.compensation, handOffStateOf(step)] : []),
      ...(roleOf(step) === StepRole.Pivot ? [] : [alertStateOf(step), retryStateOf(step)]),
    ]),
    ...saga.steps.flatMap((stage) => (isGroup(stage) && isCompensatedStage(stage) ? stage.parallel.map(handedOffStateOf) : [])),
    ...Object.values(TerminalState),
    rejectedStateOf(saga),
    ...Object.values(RollbackState),
  ];
}

/** The functions the saga invokes: one per action and one per compensation. */
export function functionStatesOf(saga: Saga): string[] {
  return stepsOf(saga).flatMap(functionStatesOfStep);
}

/** A step's functions: its action, and its compensation if it has one. */
export const functionStatesOfStep = (step: SagaStep): string[] => [
  step.action,
  ...(step.compensation === undefined ? [] : [step.compensation]),
];
