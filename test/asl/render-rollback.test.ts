import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import {
  compensationEntryOf,
  CONTEXT_KEY,
  definitionProblems,
  groupCompensationOf,
  handedOffStateOf,
  isGroup,
  EXECUTION_ALREADY_EXISTS,
  placeholderResources,
  renderRollback,
  renderSaga,
  START_EXECUTION,
  StepError,
  stepsOfStage,
  toMermaid,
  type SagaStep,
  type Stage,
  type StateMachineDefinition,
  isCompensatable,
} from '../../asl/index.ts';
import { stepEventOf } from '../../functions/middleware.ts';
import { tripSaga } from '../../saga.ts';
import { aslValidator, retryOf, task } from '../helpers/asl.ts';
import { EXECUTION_ARN, FIRST_ATTEMPT, runDefinition } from '../helpers/interpreter.ts';
import {
  compensationPathFrom,
  expectSamePath,
  firstStep,
  groupOf,
  lastStep,
  rollbackPathOf,
  sagaOfSize,
  stageIndexOf,
  stageOf,
  steps,
} from '../helpers/sagas.ts';

// The rollback machine (finishes a rollback from a named compensation) and the EXPRESS saga that hands off to it.

const trip = JSON.parse(readFileSync(new URL('../../examples/trip.json', import.meta.url), 'utf8')) as Record<string, string>;
const resources = placeholderResources(tripSaga);
const rollback = renderRollback(tripSaga, resources);
const ROLLBACK_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:rollback';
const express = renderSaga(tripSaga, resources, { type: 'EXPRESS', rollbackStateMachine: ROLLBACK_MACHINE });
/** The saga execution whose bookings the rollback machine undoes: not the rollback's own execution. */
const SAGA_EXECUTION = 'arn:aws:states:us-east-1:123456789012:express:Saga:run-1:0a1b';
const stuck = { error: StepError.InjectedFault, times: 'always' } as const;

/** The compensations owed from a step's: those of its entry of the step list and of every earlier one. */
const owedFrom = (step: SagaStep) =>
  tripSaga.steps
    .slice(0, stageIndexOf(step) + 1)
    .flatMap(stepsOfStage)
    .filter(isCompensatable)
    .map((owing) => owing.compensation);
/** What `resumeFrom` may name, and where the rollback enters: a compensation's entry, or a group's by its name. */
const resumable = tripSaga.steps.flatMap((stage) => [
  ...(isGroup(stage) ? [[groupCompensationOf(stage), groupCompensationOf(stage)]] : []),
  ...stepsOfStage(stage).map((step) => [step.compensation, compensationEntryOf(stage)]),
]);

describe('renderRollback', () => {
  it('passes asl-validator and our own rules', () => {
    expect(aslValidator(rollback).errorsText('\n')).toBe('');
    expect(definitionProblems(rollback)).toEqual([]);
  });

  it('chooses the compensation named in $.resumeFrom, and fails with UnknownCompensation on any other name', () => {
    expect(rollback.StartAt).toBe('ResumeFrom');
    expect(rollback.States['ResumeFrom']).toEqual({
      Type: 'Choice',
      Choices: [
        {
          Or: ['$.trip', '$.execution', '$.resumeFrom'].map((path) => ({ Variable: path, IsPresent: false })),
          Next: 'UnknownCompensation',
        },
        ...resumable.map(([name, entry]) => ({ Variable: '$.resumeFrom', StringEquals: name, Next: entry })),
      ],
      Default: 'UnknownCompensation',
    });
    expect(rollback.States['UnknownCompensation']).toMatchObject({ Type: 'Fail', Error: 'UnknownCompensation' });
  });

  it('holds the saga’s own compensations, alerts and retries, on the bookings of $.execution, ending in a Succeed state', () => {
    const saga = renderSaga(tripSaga, resources);
    const onInput = {
      'trip.$': '$.trip',
      'execution.$': '$.execution',
      'retryCount.$': '$$.State.RetryCount',
      'redriveCount.$': '$$.Execution.RedriveCount',
    };
    for (const step of steps) {
      for (const name of [step.compensation, `Alert${step.compensation}`, `Retry${step.compensation}`]) {
        const { Parameters, ...rest } = task(saga, name);
        expect(task(rollback, name)).toMatchObject(rest);
      }
      expect(task(rollback, step.compensation).Parameters).toEqual(onInput);
      expect(task(rollback, `Retry${step.compensation}`).Parameters).toEqual(onInput);
    }
    expect(rollback.States['SagaRolledBack']).toMatchObject({ Type: 'Succeed' });
  });

  it('draws the Choice as a diamond with one labelled edge per compensation', () => {
    const mermaid = toMermaid(rollback);
    expect(mermaid).toContain('{"ResumeFrom"}');
    for (const [name] of resumable) expect(mermaid).toContain(`|"$.resumeFrom = ${name}"|`);
  });

  it.each(steps.map((step) => [step.compensation, step] as const))(
    'run from %s: undoes the saga execution’s bookings, owed compensations in order, and succeeds',
    async (compensation, step) => {
      const run = await runDefinition(rollback, { trip, execution: SAGA_EXECUTION, resumeFrom: compensation });
      expectSamePath(run.entered, ['ResumeFrom', ...compensationPathFrom(step)]);
      expect(run.status).toBe('SUCCEEDED');
      for (const name of owedFrom(step)) expect(run.inputs[name]).toEqual([{ trip, execution: SAGA_EXECUTION, ...FIRST_ATTEMPT }]);
    },
  );

  it('a compensation stuck here too alerts, and fails at its retry: the rollback execution is redrivable', async () => {
    const run = await runDefinition(
      rollback,
      { trip, execution: SAGA_EXECUTION, resumeFrom: lastStep.compensation },
      { [lastStep.compensation]: stuck, [`Retry${lastStep.compensation}`]: stuck },
    );
    expectSamePath(run.entered, ['ResumeFrom', ...compensationPathFrom(lastStep, tripSaga, { stuck: lastStep })]);
    expect(run).toMatchObject({ status: 'FAILED', error: StepError.InjectedFault });
  });

  it('refuses a name that is not a compensation', async () => {
    const run = await runDefinition(rollback, { trip, execution: SAGA_EXECUTION, resumeFrom: firstStep.action });
    expect(run.entered).toEqual(['ResumeFrom', 'UnknownCompensation']);
    expect(run).toMatchObject({ status: 'FAILED', error: 'UnknownCompensation' });
  });

  const complete = { trip, execution: SAGA_EXECUTION, resumeFrom: lastStep.compensation };
  it.each([
    ['{}', {}],
    ...Object.keys(complete).map((key) => [
      `without ${key}`,
      Object.fromEntries(Object.entries(complete).filter(([other]) => other !== key)),
    ]),
  ])('started %s, fails with UnknownCompensation before any compensation, not with an uncatchable States.Runtime', async (_, input) => {
    const run = await runDefinition(rollback, input);
    expect(run.entered).toEqual(['ResumeFrom', 'UnknownCompensation']);
    expect(run).toMatchObject({ status: 'FAILED', error: 'UnknownCompensation' });
    expect(Object.keys(run.calls)).toEqual([]);
  });

  it.each([1, 4, 50])('renders %i steps, valid for asl-validator and us', (size) => {
    const definition = renderRollback(sagaOfSize(size), placeholderResources(sagaOfSize(size)));
    expect(Object.keys(definition.States)).toHaveLength(3 * size + 3);
    expect(aslValidator(definition).errorsText('\n')).toBe('');
  });
});

describe('renderSaga for EXPRESS', () => {
  it('passes asl-validator and our own rules', () => {
    expect(aslValidator(express).errorsText('\n')).toBe('');
    expect(definitionProblems(express)).toEqual([]);
  });

  it('differs from STANDARD only after an alert (and in the redrive count): a hand-off replaces the retry, and the alert says so', () => {
    const standard = renderSaga(tripSaga, resources);
    // The redrive count, which an EXPRESS execution is not given, is the subject of the next test.
    const compared = (state: unknown) => String(JSON.stringify(state)).replace(/,?"redriveCount\.\$":"[^"]*"/g, '');
    const differing = (a: StateMachineDefinition, b: StateMachineDefinition) =>
      Object.keys(a.States).filter((name) => compared(a.States[name]) !== compared(b.States[name]));
    // A group's compensations are one state at the top, holding its branches' alerts.
    const afterAlert = (then: (step: SagaStep) => string) => (stage: Stage) =>
      isGroup(stage) ? [groupCompensationOf(stage)] : [`Alert${stage.compensation}`, then(stage)];
    expect(differing(standard, express)).toEqual(tripSaga.steps.flatMap(afterAlert((step) => `Retry${step.compensation}`)));
    expect(differing(express, standard)).toEqual([
      ...tripSaga.steps.flatMap(afterAlert((step) => `HandOff${step.compensation}`)),
      // A single step's hand-off ends there; a grouped one's in its own branch.
      ...(tripSaga.steps.every(isGroup) ? [] : ['SagaRollbackHandedOff']),
    ]);
    for (const step of steps) {
      expect(task(express, `Alert${step.compensation}`)).toMatchObject({
        Next: `HandOff${step.compensation}`,
        Catch: [{ Next: `HandOff${step.compensation}` }],
      });
    }
  });

  it('tells its functions the retry count but no redrive count: an EXPRESS execution cannot be redriven', () => {
    for (const step of steps) expect(task(express, step.action).Parameters).toEqual({ [`${CONTEXT_KEY}.$`]: '$$' });
    // As AWS fills an EXPRESS execution's context object: no RedriveCount.
    const context = { Execution: { Id: EXECUTION_ARN, Input: trip, Name: 'express' }, State: { RetryCount: 1 } };
    expect(stepEventOf({ [CONTEXT_KEY]: context }, tripSaga)).toEqual({ trip, execution: EXECUTION_ARN, retryCount: 1 });
  });

  it('hands off through request-response startExecution, named after the execution, resuming from the stuck compensation (or its group)', () => {
    for (const step of steps) {
      const { compensation } = step;
      const group = groupOf(step);
      expect(task(express, `HandOff${compensation}`)).toMatchObject({
        Resource: START_EXECUTION,
        Parameters: {
          StateMachineArn: ROLLBACK_MACHINE,
          'Name.$': "States.Hash($$.Execution.Id, 'SHA-256')",
          Input: { 'trip.$': '$$.Execution.Input', 'execution.$': '$$.Execution.Id', resumeFrom: compensationEntryOf(stageOf(step)) },
        },
        Next: group === undefined ? 'SagaRollbackHandedOff' : handedOffStateOf(step),
      });
    }
  });

  it('takes a name already used for a hand-off done: at once, without retrying, and only that error', () => {
    for (const { compensation } of steps) {
      const handOff = task(express, `HandOff${compensation}`);
      expect(handOff.Retry?.[0]).toMatchObject({ ErrorEquals: [EXECUTION_ALREADY_EXISTS], MaxAttempts: 0 });
      expect(handOff.Retry?.[1]).toMatchObject({ ErrorEquals: ['States.ALL'] });
      expect(handOff.Catch).toEqual([{ ErrorEquals: [EXECUTION_ALREADY_EXISTS], Next: handOff.Next, ResultPath: '$.handOff' }]);
    }
  });

  it('in an interpreter: a rerun hand-off that finds its rollback execution closed ends handed off, not failed at the hand-off', async () => {
    const closed = { error: EXECUTION_ALREADY_EXISTS, times: 'always' } as const;
    const run = await runDefinition(express, trip, {
      [lastStep.action]: stuck,
      [lastStep.compensation]: stuck,
      [`HandOff${lastStep.compensation}`]: closed,
    });
    expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRollbackHandedOff' });
    expect(run.calls[`HandOff${lastStep.compensation}`]).toBe(1);
  });

  it('in an interpreter: any other failure of the hand-off is retried, then fails the execution at the hand-off', async () => {
    const run = await runDefinition(express, trip, {
      [lastStep.action]: stuck,
      [lastStep.compensation]: stuck,
      [`HandOff${lastStep.compensation}`]: { error: 'StepFunctions.SfnException', times: 'always' },
    });
    expect(run).toMatchObject({ status: 'FAILED', error: 'StepFunctions.SfnException' });
    expect(run.entered.at(-1)).toBe(`HandOff${lastStep.compensation}`);
    expect(run.calls[`HandOff${lastStep.compensation}`]).toBe(1 + retryOf(task(express, `HandOff${lastStep.compensation}`), 1).maxAttempts);
  });

  it('in an interpreter: a stuck compensation alerts, then starts the rollback machine with a 64-character name and ends handed off', async () => {
    const run = await runDefinition(express, trip, { [lastStep.action]: stuck, [lastStep.compensation]: stuck });
    // As for a STANDARD saga up to the alert (without its retry), then the hand-off, and the end of its branch or of all.
    const untilAlert = rollbackPathOf(lastStep, tripSaga, { stuck: lastStep }).slice(0, -1);
    const handedOff = groupOf(lastStep) === undefined ? 'SagaRollbackHandedOff' : handedOffStateOf(lastStep);
    expectSamePath(run.entered, [...untilAlert, `HandOff${lastStep.compensation}`, handedOff]);
    expect(run).toMatchObject({ status: 'FAILED', error: 'SagaRollbackHandedOff' });
    const [handOff] = run.inputs[`HandOff${lastStep.compensation}`] as [Record<string, unknown>];
    expect(handOff).toEqual({
      StateMachineArn: ROLLBACK_MACHINE,
      Name: expect.stringMatching(/^[0-9a-f]{64}$/),
      Input: { trip, execution: EXECUTION_ARN, resumeFrom: compensationEntryOf(stageOf(lastStep)) },
    });
    // What the saga hands over, the rollback machine finishes.
    const finished = await runDefinition(rollback, handOff['Input']);
    expect(finished.status).toBe('SUCCEEDED');
  });
});
