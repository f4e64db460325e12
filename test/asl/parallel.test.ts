import { invalidErrorOf } from '../../asl/saga.ts';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  ALL_ERRORS,
  costTable,
  definitionProblems,
  functionStatesOf,
  groupCompensationOf,
  isCompensatable,
  isGroup,
  parallel,
  placeholderResources,
  placeholderRollbackArn,
  priceOf,
  renderRollback,
  renderSaga,
  SagaDefinitionError,
  sagaPaths,
  StepError,
  compensatableStepsOf,
  toDot,
  toMermaid,
  svgOf,
  type ParallelGroup,
  type ParallelState,
  type Saga,
  type CompensatableStep,
  type StateMachineDefinition,
  type TaskState,
} from '../../asl/index.ts';
import { aslValidator } from '../helpers/asl.ts';
import { EXECUTION_ARN, FIRST_ATTEMPT, runDefinition } from '../helpers/interpreter.ts';
import { tripParallelSaga, tripSagaOfShape } from '../helpers/sagas.ts';

// Groups of steps that run at once: the example's step list (examples/trip-parallel.ts), and a generated one with a
// group between two single steps, so that a group has steps before and after it.

const trip = JSON.parse(readFileSync(new URL('../../examples/trip.json', import.meta.url), 'utf8')) as Record<string, string>;
const saga = tripParallelSaga;
const group = saga.steps.find(isGroup) as ParallelGroup;
const grouped = group.parallel;
const definition = renderSaga(saga, placeholderResources(saga));
const parallelState = (machine: StateMachineDefinition, name: string): ParallelState => {
  const state = machine.States[name];
  if (state?.Type !== 'Parallel') throw new Error(`${name} is not a Parallel state`);
  return state;
};
const business = { error: StepError.BookingConflict, times: 'always' } as const;

/** A group between a step before it and a step after it: Step1, then Step2 and Step3 at once, then Step4. */
const between = tripSagaOfShape([1, 2, 1]);
const [before, middle, after] = between.steps as [CompensatableStep, ParallelGroup, CompensatableStep];
const betweenDefinition = renderSaga(between, placeholderResources(between));
const topLevel = (entered: readonly string[]) => entered.filter((state) => state in betweenDefinition.States);

describe('a group renders as one Parallel state for its actions and one for its compensations', () => {
  it('is valid for asl-validator and for our own rules, and pinned by a snapshot', () => {
    expect(aslValidator(definition).errorsText('\n')).toBe('');
    expect(definitionProblems(definition)).toEqual([]);
    expect(definition).toMatchSnapshot();
  });

  it('runs each action of the group in its own branch; the group’s failure goes to every compensation of the group', () => {
    const actions = parallelState(definition, group.name);
    expect(actions.Branches.map((branch) => branch.StartAt)).toEqual(grouped.map((step) => step.action));
    expect(actions.Catch?.at(-1)).toEqual({
      ErrorEquals: [ALL_ERRORS],
      Next: groupCompensationOf(group),
      ResultPath: `$.errors.${group.name}`,
    });
    const compensations = parallelState(definition, groupCompensationOf(group));
    expect(compensations.Branches.map((branch) => Object.keys(branch.States))).toEqual(
      grouped.map((step) => [step.compensation, `Alert${step.compensation}`, `Retry${step.compensation}`]),
    );
    // A stuck compensation inside the group stops at its retry, without a catcher: the Parallel state fails, redrivable.
    expect(compensations.Catch).toBeUndefined();
  });

  it('goes on from the step before to the group and to the step after; compensates the step after, the group, the step before', () => {
    expect(betweenDefinition.States[before.action]).toMatchObject({ Next: middle.name });
    expect(betweenDefinition.States[middle.name]).toMatchObject({ Next: after.action });
    expect(betweenDefinition.States[after.compensation]).toMatchObject({ Next: groupCompensationOf(middle) });
    expect(betweenDefinition.States[groupCompensationOf(middle)]).toMatchObject({ Next: before.compensation });
    expect(betweenDefinition.States[before.compensation]).toMatchObject({ Next: 'SagaRolledBack' });
    expect(aslValidator(betweenDefinition).errorsText('\n')).toBe('');
  });
});

describe('a group in an ASL interpreter', () => {
  it('happy path: every result at its own path, beside the trip, as with single steps', async () => {
    for (const [machine, steps] of [
      [definition, compensatableStepsOf(saga)],
      [betweenDefinition, compensatableStepsOf(between)],
    ] as const) {
      const run = await runDefinition(machine, trip);
      expect(run.status).toBe('SUCCEEDED');
      const actions = steps.map((step) => step.action);
      expect(run.output).toEqual({ ...trip, results: Object.fromEntries(actions.map((action) => [action, { done: action }])) });
      // Branch functions too get the execution's input, not the branch's.
      for (const name of actions) expect(run.inputs[name]).toEqual([{ trip, execution: EXECUTION_ARN, ...FIRST_ATTEMPT }]);
    }
  });

  it.each(middle.parallel.map((step) => step.action))(
    'when %s fails, every compensation of the group runs, then the earlier ones, and the rollback ends',
    async (failing) => {
      const run = await runDefinition(betweenDefinition, trip, { [failing]: business });
      for (const step of [...middle.parallel.filter(isCompensatable), before]) expect(run.calls[step.compensation]).toBe(1);
      expect(run.calls[after.action]).toBeUndefined();
      expect(run.calls[after.compensation]).toBeUndefined();
      expect(topLevel(run.entered)).toEqual([
        before.action,
        middle.name,
        groupCompensationOf(middle),
        before.compensation,
        'SagaRolledBack',
      ]);
      expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRolledBack' });
      for (const step of middle.parallel.filter(isCompensatable))
        expect(run.inputs[step.compensation]).toEqual([{ trip, execution: EXECUTION_ARN, ...FIRST_ATTEMPT }]);
    },
  );

  it('when the step after the group fails, its compensation runs, then the group’s, then the one before', async () => {
    const run = await runDefinition(betweenDefinition, trip, { [after.action]: business });
    expect(topLevel(run.entered)).toEqual([
      before.action,
      middle.name,
      after.action,
      after.compensation,
      groupCompensationOf(middle),
      before.compensation,
      'SagaRolledBack',
    ]);
    for (const step of middle.parallel.filter(isCompensatable)) expect(run.calls[step.compensation]).toBe(1);
  });

  it('an invalid trip is rejected by a first group before anything is booked, without compensating', async () => {
    const first = tripSagaOfShape([2, 1]);
    const machine = renderSaga(first, placeholderResources(first));
    const firstGroup = first.steps[0] as ParallelGroup;
    const invalid = Object.fromEntries(
      firstGroup.parallel.map((step) => [step.action, { error: invalidErrorOf(first), times: 'always' as const }]),
    );
    const run = await runDefinition(machine, trip, invalid);
    expect(run.entered.filter((state) => state in machine.States)).toEqual([firstGroup.name, 'TripRejected']);
    expect(run.error).toBe('TripInvalid');
  });

  it('a compensation stuck inside the group alerts, retries once more, and fails the execution at the group', async () => {
    const stuck = middle.parallel.at(-1) as CompensatableStep;
    const run = await runDefinition(betweenDefinition, trip, {
      [after.action]: business,
      [stuck.compensation]: business,
      [`Retry${stuck.compensation}`]: business,
    });
    expect(run.entered).toEqual(expect.arrayContaining([`Alert${stuck.compensation}`, `Retry${stuck.compensation}`]));
    expect(topLevel(run.entered).at(-1)).toBe(groupCompensationOf(middle));
    expect(run.calls[before.compensation]).toBeUndefined();
    expect(run.status).toBe('FAILED');
  });
});

describe('the rollback machine and EXPRESS with a group', () => {
  it('resumes the whole group from any of its compensations, or from the group', async () => {
    const rollback = renderRollback(saga, placeholderResources(saga));
    expect(aslValidator(rollback).errorsText('\n')).toBe('');
    for (const resumeFrom of [...grouped.map((step) => step.compensation), groupCompensationOf(group)]) {
      const run = await runDefinition(rollback, { trip, execution: 'arn:owner', resumeFrom });
      expect(run.status).toBe('SUCCEEDED');
      for (const step of grouped.filter(isCompensatable))
        expect(run.inputs[step.compensation]).toEqual([{ trip, execution: 'arn:owner', ...FIRST_ATTEMPT }]);
    }
  });

  it('hands a stuck grouped compensation off from the group, so that two stuck branches send the same request', () => {
    const express = renderSaga(saga, placeholderResources(saga), { type: 'EXPRESS', rollbackStateMachine: placeholderRollbackArn(saga) });
    expect(aslValidator(express).errorsText('\n')).toBe('');
    const branches = parallelState(express, groupCompensationOf(group)).Branches;
    const inputs = branches.map((branch, index) => {
      const step = grouped[index] as CompensatableStep;
      expect(branch.States[`HandedOff${step.compensation}`]).toMatchObject({ Type: 'Fail', Error: 'SagaRollbackHandedOff' });
      return (branch.States[`HandOff${step.compensation}`] as TaskState).Parameters?.['Input'];
    });
    expect(new Set(inputs.map((input) => JSON.stringify(input))).size).toBe(1);
    expect(inputs[0]).toMatchObject({ resumeFrom: groupCompensationOf(group) });
  });

  it('renders step lists made only of groups, valid for both validators', () => {
    const onlyGroups = tripSagaOfShape([2, 3]);
    for (const machine of [
      renderSaga(onlyGroups, placeholderResources(onlyGroups)),
      renderSaga(onlyGroups, placeholderResources(onlyGroups), {
        type: 'EXPRESS',
        rollbackStateMachine: placeholderRollbackArn(onlyGroups),
      }),
      renderRollback(onlyGroups, placeholderResources(onlyGroups)),
    ]) {
      expect(aslValidator(machine).errorsText('\n')).toBe('');
      expect(definitionProblems(machine)).toEqual([]);
    }
  });
});

describe('a bad group is refused with SagaDefinitionError naming it', () => {
  const [hotel, flight, rental] = compensatableStepsOf(saga) as [CompensatableStep, CompensatableStep, CompensatableStep];
  const withSteps = (steps: unknown[]): Saga => ({ ...saga, steps: steps as Saga['steps'] });
  it.each<[string, Saga, string]>([
    ['a group of one', withSteps([parallel('Travel', [hotel]), rental]), 'group "Travel" has 1 step(s): a group runs at least two at once'],
    ['an empty group', withSteps([parallel('Travel', []), rental]), 'group "Travel" has 0 step(s)'],
    ['an empty branch', withSteps([parallel('Travel', [hotel, {} as CompensatableStep]), rental]), 'group "Travel" branch 2 is empty'],
    ['a nested group', withSteps([parallel('Travel', [hotel, parallel('Inner', [flight, rental]) as never])]), 'groups do not nest'],
    ['a group named like a step', withSteps([parallel(hotel.name, [hotel, flight]), rental]), `duplicate step name "${hotel.name}"`],
    [
      'a step in two groups',
      withSteps([parallel('Travel', [hotel, flight]), parallel('Again', [rental, hotel])]),
      `duplicate step name "${hotel.name}"`,
    ],
    [
      'a group named like a state',
      withSteps([parallel(rental.action, [hotel, flight]), rental]),
      `duplicate state name "${rental.action}"`,
    ],
    [
      'a group name that cannot name a state',
      withSteps([parallel('Travel plans', [hotel, flight]), rental]),
      'group "Travel plans": its name must be',
    ],
  ])('%s', (_, bad, message) => {
    expect(() => renderSaga(bad, placeholderResources(saga))).toThrow(SagaDefinitionError);
    try {
      renderSaga(bad, placeholderResources(saga));
    } catch (error) {
      expect((error as SagaDefinitionError).problems.some((problem) => problem.includes(message))).toBe(true);
    }
  });
});

describe('cost: transitions as Step Functions counts them, and Express duration from the slowest branch', () => {
  const paths = sagaPaths(between, betweenDefinition);
  const byScenario = (start: string) => paths.find((path) => path.scenario.startsWith(start));

  it('the happy path enters the Parallel state and each branch’s state: one more transition than in sequence', () => {
    const happy = byScenario('all steps succeed');
    expect(happy?.states).toEqual([before.action, middle.name, ...middle.parallel.map((step) => step.action), after.action]);
    expect(priceOf(happy as never, 100).transitions).toBe(compensatableStepsOf(between).length + 1);
    // The branches run at once: the group takes one state's time, whichever branch is the slowest.
    expect(happy?.stretches.map((stretch) => stretch.attempts)).toEqual(middle.parallel.map(() => 3));
  });

  it('a rollback from the group runs every compensation of the group, at once, then the earlier ones', () => {
    const failing = middle.parallel[0] as CompensatableStep;
    const rollback = byScenario(`${failing.action} fails`);
    expect(rollback?.scenario).toBe(`${failing.action} fails (step 2, group ${middle.name}): roll back`);
    expect(rollback?.states).toEqual([
      before.action,
      middle.name,
      ...middle.parallel.map((step) => step.action),
      groupCompensationOf(middle),
      ...middle.parallel.map((step) => step.compensation),
      before.compensation,
      'SagaRolledBack',
    ]);
    expect(Math.max(...(rollback?.stretches ?? []).map((stretch) => stretch.attempts))).toBe(5);
  });

  it('is cheaper in Express time than the same steps in sequence, and dearer by a transition per group on Standard', () => {
    for (const grouping of [saga, between] as Saga[]) {
      const sequential: Saga = { ...grouping, steps: compensatableStepsOf(grouping) };
      const [seq, par] = [sequential, grouping].map((each) =>
        priceOf(sagaPaths(each, renderSaga(each, placeholderResources(each)))[0] as never, 100),
      );
      expect(par?.transitions).toBe((seq?.transitions ?? 0) + 1);
      expect(par?.expressPerMillion).toBeLessThan(seq?.expressPerMillion ?? 0);
    }
  });

  it('prints both kinds of path: the happy one and every rollback', () => {
    const table = costTable(saga, definition, 100).join('\n');
    expect(table).toContain('all steps succeed');
    for (const step of compensatableStepsOf(saga)) expect(table).toContain(`${step.action} fails`);
  });
});

describe('diagrams draw a group as one box', () => {
  it('Mermaid: a subgraph per Parallel state, holding its branches’ states', () => {
    const mermaid = toMermaid(definition);
    expect(mermaid.match(new RegExp(`subgraph s\\d+\\["${group.name}<br/>at once"\\]`))).not.toBeNull();
    expect(mermaid.match(/subgraph/g)).toHaveLength(2);
    expect(mermaid.match(/^ {2}end$/gm)).toHaveLength(2);
    for (const step of grouped) expect(mermaid).toMatch(new RegExp(` {4}s\\d+\\["${step.action}`));
  });

  it('DOT and SVG: a cluster per Parallel state, edges to it drawn to its box', async () => {
    const path = saga.steps.flatMap((stage) =>
      isGroup(stage) ? [stage.name, ...stage.parallel.map((step) => step.action)] : [stage.action],
    );
    const dot = toDot(definition, path);
    expect(dot).toContain('compound=true;');
    expect(dot.match(/subgraph cluster_s\d+ \{/g)).toHaveLength(2);
    expect(dot).toMatch(/lhead=cluster_s\d+/);
    const svg = await svgOf(dot);
    expect(svg).toContain('class="cluster');
    // The group is a cluster, not a node: its two states, the later step and Succeeded are the nodes taken.
    expect(svg.match(/class="node taken"/g)?.length).toBe(path.length);
  });

  it('names every function once: the group adds states, not functions', () => {
    expect(functionStatesOf(saga)).toHaveLength(2 * compensatableStepsOf(saga).length);
  });
});
