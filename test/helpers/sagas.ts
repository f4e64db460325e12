import { readdirSync } from 'node:fs';
import { expect } from '@jest/globals';
import {
  actionEntryOf,
  alertStateOf,
  compensationEntryOf,
  groupCompensationOf,
  handedOffStateOf,
  handOffStateOf,
  compensatableStepsOf,
  functionStatesOfStep,
  isCompensatable,
  isCustomStep,
  isGroup,
  OWED_LISTED,
  retryStateOf,
  stepsOf,
  StepRole,
  stepsOfStage,
  TerminalState,
  type BookingStep,
  type CompensatableStep,
  type ParallelGroup,
  type Saga,
  type SagaStep,
  type Stage,
  type Transition,
} from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';

export {
  addedStep,
  chainOf,
  sagaOfSize,
  sagaOfSizeModule,
  stepNamed,
  tripSagaOfShape,
  tripSagaOfSize,
  tripSagaOfTwoStagesOrMore,
  tripSagaWithAddedStep,
  withoutStep,
  withStepChanged,
} from './saga-shapes.ts';

/**
 * tripSagaOfTwoStagesOrMore as a step list file (`--saga FILE`), from the project's folder: for commands whose subject
 * needs a stage after the first, whatever the length of the trip's own step list.
 */
export const TRIP_OF_TWO_STAGES_FILE = 'test/helpers/trip-of-two-stages-saga.ts';

/** The trip's steps, by position: tests state the rules on these, so that they hold for any step list. */
/** A booking step with a compensation: what the trip's steps are. */
export type CompensatableBooking = BookingStep & CompensatableStep;
/** A saga's booking steps with a compensation, in step-list order. */
export const bookingsOf = (saga: Saga): readonly CompensatableBooking[] =>
  compensatableStepsOf(saga).flatMap((step) => (isCustomStep(step) ? [] : [step]));
/** The trip's steps are bookings: what tests of bookings (their tables, what they record) read. */
export const steps = bookingsOf(tripSaga);
export const firstStep = steps[0] as CompensatableBooking;
export const lastStep = steps.at(-1) as CompensatableBooking;
/** The step before the last (the first, in a saga of one): its compensation is owed when the last action fails. */
export const previousStep = steps.at(-2) ?? firstStep;
export const actions = steps.map((step) => step.action);

/** The entry of the step list that holds a step: the step itself, or its group. */
export function stageOf(step: SagaStep, saga: Saga = tripSaga): Stage {
  const stage = saga.steps.find((entry) => stepsOfStage(entry).includes(step));
  if (stage === undefined) throw new Error(`${step.name} is not a step of ${saga.name}`);
  return stage;
}

/** The place of a step's entry in the step list, from 0. */
export const stageIndexOf = (step: SagaStep, saga: Saga = tripSaga): number => saga.steps.indexOf(stageOf(step, saga));

/** The group that runs a step in one of its branches, if any: its states then live in that branch, not at the top. */
export function groupOf(step: SagaStep, saga: Saga = tripSaga): ParallelGroup | undefined {
  const stage = stageOf(step, saga);
  return isGroup(stage) ? stage : undefined;
}

/** Where a step's action goes once it succeeds: the next entry of the step list, or the end (of its branch, or of all). */
export function afterActionOf(step: SagaStep, saga: Saga = tripSaga): Transition {
  if (groupOf(step, saga) !== undefined) return { End: true };
  return afterStageOf(stageOf(step, saga), saga);
}

/** Where an entry of the step list goes once its actions succeed: the next entry's actions, or the end. */
export function afterStageOf(stage: Stage, saga: Saga = tripSaga): Transition {
  const following = saga.steps[saga.steps.indexOf(stage) + 1];
  return following === undefined ? { End: true } : { Next: actionEntryOf(following) };
}

/** Where an entry's compensations go once done: the previous entry's, or the end of a completed rollback. */
export function afterCompensationsOf(stage: Stage, saga: Saga = tripSaga): string {
  const previous = saga.steps[saga.steps.indexOf(stage) - 1];
  return previous === undefined ? TerminalState.RolledBack : compensationEntryOf(previous);
}

/** The compensations an alert about a stuck one owes: itself, the rest of its group, then every earlier entry's, in reverse. */
export function owedBy(step: SagaStep, saga: Saga = tripSaga): string[] {
  const stage = stageOf(step, saga);
  return [
    step,
    ...stepsOfStage(stage).filter((other) => other !== step),
    ...saga.steps.slice(0, saga.steps.indexOf(stage)).reverse().flatMap(stepsOfStage),
  ].flatMap((owing) => (isCompensatable(owing) ? [owing.compensation] : []));
}

/** The states an entry's actions enter: the step's action, or the group's Parallel state and every branch's action. */
export const actionStatesOf = (stage: Stage): string[] =>
  isGroup(stage) ? [stage.name, ...stage.parallel.map((step) => step.action)] : [stage.action];

/** The states an entry's compensations enter: the step's, or the group's Parallel state and every branch's. */
export const compensationStatesOf = (stage: Stage): string[] =>
  stepsOfStage(stage)
    .filter(isCompensatable)
    .flatMap((step, index) => [...(isGroup(stage) && index === 0 ? [groupCompensationOf(stage)] : []), step.compensation]);

/** The states a successful execution enters: every action, in step-list order (a group's as it runs them). */
export const happyPathOf = (saga: Saga = tripSaga): string[] => saga.steps.flatMap(actionStatesOf);

/** What becomes of a compensation owed: with `stuck`, it does not finish, alerts and is retried once more. */
export interface Stuck {
  readonly stuck?: SagaStep;
  /** The stuck compensation succeeds on its retry after the alert, and the rollback goes on. */
  readonly recovers?: boolean;
}

/**
 * The states a rollback enters from `from`'s entry of the step list: the compensations owed in reverse (a group's
 * all), then SagaRolledBack. A stuck compensation alerts and is retried once more, and the path ends there, unless
 * it recovers on that retry.
 */
export function compensationPathFrom(from: SagaStep, saga: Saga = tripSaga, { stuck, recovers = false }: Stuck = {}): string[] {
  const path: string[] = [];
  for (const stage of saga.steps.slice(0, stageIndexOf(from, saga) + 1).reverse()) {
    path.push(...compensationStatesOf(stage));
    if (stuck !== undefined && stepsOfStage(stage).includes(stuck)) {
      path.push(alertStateOf(stuck), retryStateOf(stuck));
      if (!recovers) return path;
    }
  }
  return [...path, TerminalState.RolledBack];
}

/**
 * The states an execution enters when `failing`'s action fails for good: the actions up to its entry of the step list,
 * then the rollback from there (compensationPathFrom).
 */
export function rollbackPathOf(failing: SagaStep, saga: Saga = tripSaga, stuck: Stuck = {}): string[] {
  return [...saga.steps.slice(0, stageIndexOf(failing, saga) + 1).flatMap(actionStatesOf), ...compensationPathFrom(failing, saga, stuck)];
}

/** The states that run inside a group's branches: their order against one another is not the saga's to say. */
export function branchStatesOf(saga: Saga = tripSaga): Set<string> {
  return new Set(
    saga.steps
      .filter(isGroup)
      .flatMap((group) =>
        group.parallel.flatMap((step) => [
          ...functionStatesOfStep(step),
          alertStateOf(step),
          retryStateOf(step),
          ...(isCompensatable(step) ? [handOffStateOf(step), handedOffStateOf(step)] : []),
        ]),
      ),
  );
}

/**
 * A path compared as the README defines it: the states outside groups' branches in order, and every state as often
 * as expected, in any order inside the branches (which run at once, their events interleaved).
 */
export function expectSamePath(seen: readonly string[], expected: readonly string[], saga: Saga = tripSaga): void {
  const inBranch = branchStatesOf(saga);
  const outside = (path: readonly string[]) => path.filter((state) => !inBranch.has(state));
  expect(outside(seen)).toEqual(outside(expected));
  expect([...seen].sort()).toEqual([...expected].sort());
}

/** The trip's example with a group (examples/trip-parallel.ts): what tests of groups run, taken from that file. */
export { default as tripParallelSaga } from '../../examples/trip-parallel.ts';

/** Whether a rollback from `failing`'s action runs a step's compensation: its entry is the failing one's or earlier. */
export const compensatedWhen = (failing: SagaStep, step: SagaStep, saga: Saga = tripSaga): boolean =>
  stageIndexOf(step, saga) <= stageIndexOf(failing, saga);

/**
 * Where a redrive of an execution stuck at a compensation starts again: at that compensation's retry, or, in a group,
 * at the group's compensations (the Parallel state that failed), which rerun the stuck branch.
 */
export function redriveEntryOf(stuck: SagaStep, saga: Saga = tripSaga): string {
  const group = groupOf(stuck, saga);
  return group === undefined ? retryStateOf(stuck) : groupCompensationOf(group);
}

/**
 * The states a redrive of a rollback stuck at `stuck`'s compensation enters: its redrive entry, the stuck
 * compensation's retry, then every earlier entry's compensations, in reverse, and SagaRolledBack. In a group, the
 * redrive also reruns each sibling's compensation that had not succeeded before (`succeededBefore`): the stuck
 * branch's failure stops a sibling still running, as Step Functions stops it, whenever the sibling is the slower.
 */
export const redrivenRollbackPathOf = (
  stuck: SagaStep,
  saga: Saga = tripSaga,
  succeededBefore: ReadonlySet<string> = new Set(),
): string[] => [
  ...new Set([redriveEntryOf(stuck, saga), retryStateOf(stuck)]),
  ...(groupOf(stuck, saga)?.parallel ?? [])
    .filter((sibling) => sibling !== stuck && isCompensatable(sibling) && !succeededBefore.has(sibling.compensation))
    .map((sibling) => sibling.compensation as string),
  ...saga.steps.slice(0, stageIndexOf(stuck, saga)).reverse().flatMap(compensationStatesOf),
  TerminalState.RolledBack,
];

/** What an execution still holds when `stuck`'s compensation gives up: its booking, and those of every earlier entry. */
export const heldWhenStuck = (stuck: SagaStep, saga: Saga = tripSaga): SagaStep[] =>
  stepsOf(saga).filter((step) => step === stuck || stageIndexOf(step, saga) < stageIndexOf(stuck, saga));

/**
 * The project's own saga (saga.ts) and every saga of examples/ (a module whose default export is a step list, not a
 * custom step's code), each with its file: what the per-saga tests run over, so that a new example is tested by
 * adding it.
 */
export const everySaga: readonly { readonly file: string; readonly saga: Saga }[] = [
  { file: 'saga.ts', saga: tripSaga },
  ...(
    await Promise.all(
      readdirSync(new URL('../../examples/', import.meta.url))
        .filter((name) => name.endsWith('.ts'))
        .sort()
        .map(async (name) => ({
          file: `examples/${name}`,
          exported: ((await import(new URL(`../../examples/${name}`, import.meta.url).href)) as { default?: unknown }).default,
        })),
    )
  ).flatMap(({ file, exported }) =>
    typeof exported === 'object' && exported !== null && 'steps' in exported ? [{ file, saga: exported as Saga }] : [],
  ),
];

/**
 * What an alert says is owed, as the README defines it: the first OWED_LISTED Tasks in the order they are owed (a
 * rollback's compensations in reverse step order, past the pivot the retriable actions in step order), then a count.
 */
export const owedMessageOf = (owed: readonly string[]): string =>
  owed.length > OWED_LISTED ? `${owed.slice(0, OWED_LISTED).join(', ')}, and ${owed.length - OWED_LISTED} more` : owed.join(', ');

/** A step without its compensation, in the given role: a pivot or a retriable step. */
export function withRole(step: SagaStep, role: typeof StepRole.Pivot | typeof StepRole.Retriable): SagaStep {
  const { compensation: _, role: __, ...rest } = step;
  return { ...rest, role } as SagaStep;
}

/**
 * The saga with the entry at `pivot` (a single step) as its pivot, and every entry after it retriable (a group's
 * every step): the shapes of the saga model over any step list.
 */
export function withPivotAt(saga: Saga, pivot: number): Saga {
  return {
    ...saga,
    name: `${saga.name}P${pivot + 1}`,
    steps: saga.steps.map((stage, index) => {
      if (index < pivot) return stage;
      if (isGroup(stage)) return { ...stage, parallel: stage.parallel.map((step) => withRole(step, StepRole.Retriable)) };
      return withRole(stage, index === pivot ? StepRole.Pivot : StepRole.Retriable);
    }),
  };
}
