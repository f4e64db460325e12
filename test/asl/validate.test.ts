import { describe, expect, it } from '@jest/globals';
import {
  actionEntryOf,
  AslValidationError,
  compensationEntryOf,
  defineSaga,
  definitionProblems,
  MAX_DEFINITION_BYTES,
  placeholderResources,
  renderSaga,
  SagaDefinitionError,
  SagaResourcesError,
  stepsOf,
  type Saga,
  type SagaStep,
  type Stage,
  type StateMachineDefinition,
} from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { stateOf } from '../helpers/asl.ts';
import { firstStep, lastStep, sagaOfSize, tripSagaOfTwoStagesOrMore, type CompensatableBooking } from '../helpers/sagas.ts';

const withSteps = (steps: readonly SagaStep<string>[], extra: Partial<Saga> = {}): Saga => ({ ...tripSaga, ...extra, steps });
// Two distinct steps of the trip, by position (a step added to a trip of one), and the rest of them: each bad list
// below spoils the second.
const [first, second, ...rest] = stepsOf(tripSagaOfTwoStagesOrMore) as [
  CompensatableBooking,
  CompensatableBooking,
  ...CompensatableBooking[],
];

function renderError(saga: Saga): SagaDefinitionError {
  try {
    renderSaga(saga, placeholderResources(saga));
  } catch (error) {
    if (error instanceof SagaDefinitionError) return error;
    throw error;
  }
  throw new Error('the step list was accepted');
}

describe('a bad step list is rejected with SagaDefinitionError naming the culprit', () => {
  it.each<[string, Saga, string]>([
    ['no steps', withSteps([]), 'the saga has no steps'],
    ['a duplicate step name', withSteps([first, { ...second, name: first.name }, ...rest]), `duplicate step name "${first.name}"`],
    [
      'a state name used twice',
      withSteps([first, { ...second, compensation: first.action }, ...rest]),
      `duplicate state name "${first.action}"`,
    ],
    [
      'a step named like an ending',
      withSteps([first, { ...second, action: 'SagaRolledBack' }, ...rest]),
      'duplicate state name "SagaRolledBack"',
    ],
    ['a shared table', withSteps([first, { ...second, table: first.table }, ...rest]), `duplicate table "${first.table}"`],
    [
      'a step named like a property of every object',
      withSteps([first, { ...second, name: '__proto__' }, ...rest]),
      `step 2 (__proto__): "__proto__" cannot name a step or a state: every JavaScript object has a property of that name`,
    ],
    [
      'a state named like a property of every object',
      withSteps([first, { ...second, action: 'constructor' }, ...rest]),
      `step 2 (${second.name}): "constructor" cannot name a step or a state`,
    ],
    [
      'an unknown field',
      withSteps([first, { ...second, records: [...second.records, 'seat'] }, ...rest]),
      `step 2 (${second.name}): records unknown field "seat"`,
    ],
    ['a field recorded twice', withSteps([{ ...first, records: ['hotel', 'hotel'] }]), `step 1 (${first.name}): records "hotel" twice`],
    ['a bad table name', withSteps([{ ...first, table: 'a b' }]), `step 1 (${first.name}): table "a b" is not a valid DynamoDB table name`],
    ['an empty step name', withSteps([{ ...first, name: '' }]), 'step 1 (unnamed): name is empty'],
    [
      'a state that cannot name a function',
      withSteps([{ ...first, action: 'Book Trip' }]),
      `step 1 (${first.name}): state "Book Trip" must be letters, digits`,
    ],
    ['a state name over 64 characters', withSteps([{ ...first, action: `Book${'H'.repeat(61)}` }]), 'have at most 64 characters'],
    [
      'a fractional timeout',
      withSteps([{ ...first, timeoutSeconds: 1.5 }]),
      `step 1 (${first.name}): timeoutSeconds must be an integer >= 1`,
    ],
    [
      'a negative retry count',
      withSteps([{ ...first, actionRetry: { maxAttempts: -1 } }]),
      `step 1 (${first.name}) actionRetry: maxAttempts`,
    ],
    ['a backoff below 1', withSteps([first], { compensationRetry: { backoffRate: 0.5 } }), 'compensationRetry: backoffRate must be >= 1'],
    ['a key field that is not a field', withSteps([first], { keyField: 'id' as never }), 'key field "id" is not one of the input fields'],
    ['an empty saga name', withSteps([first], { name: '' }), 'saga name "" must have 1 to 60 characters'],
    [
      'a retired step still in the step list',
      withSteps([first, second, ...rest], { retired: [second] }),
      `retired step "${second.name}" is in the step list too`,
    ],
    [
      'a retired step sharing a table with the step list',
      withSteps([first, ...rest], { retired: [{ ...second, table: first.table }] }),
      `duplicate table "${first.table}"`,
    ],
    [
      'a retired step whose state is the step list’s',
      withSteps([first, ...rest], { retired: [{ ...second, compensation: first.compensation }] }),
      `duplicate state name "${first.compensation}"`,
    ],
    [
      'a bad retired step',
      withSteps([first, ...rest], { retired: [{ ...second, records: ['seat'] as never }] }),
      `retired step 1 (${second.name}): records unknown field "seat"`,
    ],
  ])('%s', (_, saga, message) => {
    const error = renderError(saga);
    expect(error.name).toBe('SagaDefinitionError');
    expect(error.problems.some((problem) => problem.includes(message))).toBe(true);
    expect(error.message).toContain(message);
  });

  it('accepts a retired step beside the step list, and renders no state of it', () => {
    const saga = withSteps([first, ...rest], { retired: [second] });
    const states = Object.keys(renderSaga(saga, placeholderResources(saga)).States);
    expect(states).not.toContain(second.action);
    expect(states).not.toContain(second.compensation);
  });

  it('reports every problem at once, not just the first', () => {
    const error = renderError(withSteps([first, { ...first, records: ['nope'] }]));
    expect(error.problems).toEqual(
      expect.arrayContaining([
        `duplicate step name "${first.name}"`,
        `duplicate table "${first.table}"`,
        `step 2 (${first.name}): records unknown field "nope"`,
      ]),
    );
  });
});

describe('resources', () => {
  it('rejects missing or malformed ARNs with SagaResourcesError', () => {
    const resources = placeholderResources(tripSaga);
    const { [lastStep.action]: _, ...functions } = resources.functions;
    const broken = { functions: { ...functions, [firstStep.compensation]: 'arn:aws:s3:::bucket' }, alertTopic: 'topic' };
    expect(() => renderSaga(tripSaga, broken)).toThrow(SagaResourcesError);
    expect(() => renderSaga(tripSaga, broken)).toThrow(`no function ARN given for state "${lastStep.action}"`);
    expect(() => renderSaga(tripSaga, broken)).toThrow(`function ARN for state "${firstStep.compensation}" is not a Lambda function ARN`);
    expect(() => renderSaga(tripSaga, broken)).toThrow(/alert topic "topic" is not an SNS topic ARN/);
  });
});

describe('definitionProblems, on definitions that did not come from the renderer', () => {
  // The trip, with a step added to a trip of one, so that its first action goes on to another state.
  const saga = tripSagaOfTwoStagesOrMore;
  const valid = renderSaga(saga, placeholderResources(saga));
  const edit = (change: (states: Record<string, Record<string, unknown>>) => void): StateMachineDefinition => {
    const copy = structuredClone(valid) as unknown as { States: Record<string, Record<string, unknown>> };
    change(copy.States);
    return copy as unknown as StateMachineDefinition;
  };
  // The last entry of the step list, which catches for its actions (its own, or its group's), and where it goes then.
  const lastStage = saga.steps.at(-1) as Stage;
  const lastEntry = actionEntryOf(lastStage);
  // Where it catches States.ALL: its last catcher (the first entry has TripInvalid's before it).
  const allCatcherOfLast = () => ((stateOf(valid, lastEntry) as { Catch?: unknown[] }).Catch ?? []).length - 1;

  it('accepts the rendered trip', () => {
    expect(definitionProblems(valid)).toEqual([]);
  });

  it('finds a Next that points nowhere', () => {
    const definition = edit((states) => void (states[firstStep.action] = { ...states[firstStep.action], Next: 'Nowhere' }));
    expect(definitionProblems(definition)).toContain(`state "${firstStep.action}" goes to "Nowhere", which is not a state`);
  });

  it('finds a StartAt that is not a state', () => {
    expect(definitionProblems({ ...valid, StartAt: 'Nowhere' })).toContain('StartAt "Nowhere" is not a state');
  });

  it('reports unreachable states', () => {
    const definition = edit((states) => void (states['Orphan'] = { Type: 'Fail', Error: 'X', Cause: 'never reached' }));
    expect(definitionProblems(definition)).toEqual(['state "Orphan" is unreachable from StartAt']);
  });

  it('requires States.ALL to stand alone', () => {
    const definition = edit((states) => {
      const catchers = states[lastEntry]?.['Catch'] as { ErrorEquals: string[] }[];
      (catchers.at(-1) as { ErrorEquals: string[] }).ErrorEquals = ['States.ALL', 'BookingConflict'];
    });
    expect(definitionProblems(definition)).toContain(
      `state "${lastEntry}" Catch[${allCatcherOfLast()}]: States.ALL must stand alone in ErrorEquals`,
    );
  });

  it('requires States.ALL to come last', () => {
    const definition = edit((states) => {
      const catchers = states[lastEntry]?.['Catch'] as unknown[];
      catchers.push({ ErrorEquals: ['BookingConflict'], Next: compensationEntryOf(lastStage), ResultPath: '$.errors.x' });
    });
    expect(definitionProblems(definition)).toContain(
      `state "${lastEntry}" Catch[${allCatcherOfLast()}]: States.ALL must be in the last entry`,
    );
  });

  it('rejects a state with both Next and End, and a state type we do not emit', () => {
    const definition = edit((states) => {
      states[lastEntry] = { ...states[lastEntry], Next: compensationEntryOf(lastStage) };
      states['Extra'] = { Type: 'Wait', Seconds: 1, Next: valid.StartAt };
    });
    const problems = definitionProblems(definition);
    expect(problems.some((problem) => problem.startsWith(`/States/${lastEntry}`))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('/States/Extra'))).toBe(true);
  });

  it('rejects a state name over 80 characters', () => {
    const long = 'S'.repeat(81);
    const definition = edit((states) => void (states[long] = { Type: 'Fail', Error: 'X', Cause: 'y' }));
    expect(definitionProblems(definition).some((problem) => problem.includes('must NOT have more than 80 characters'))).toBe(true);
  });

  it("rejects a definition over AWS's 1 MB", () => {
    const definition = edit((states) => {
      (states['SagaRolledBack'] as Record<string, unknown>)['Cause'] = 'x'.repeat(MAX_DEFINITION_BYTES);
    });
    expect(definitionProblems(definition).at(-1)).toMatch(/^definition is \d+ bytes, over AWS's limit of 1048576$/);
  });

  it('the renderer refuses to return a definition AWS would refuse: 2,000 steps are over 1 MB', () => {
    const saga = sagaOfSize(2000);
    expect(() => renderSaga(saga, placeholderResources(saga))).toThrow(AslValidationError);
    expect(() => renderSaga(saga, placeholderResources(saga))).toThrow(/over AWS's limit of 1048576/);
  });
});

describe('the step list is typed', () => {
  it('a step recording a field the trip does not have fails to compile (checked by tsc in npm test)', () => {
    const saga = defineSaga({
      ...tripSaga,
      steps: [
        // @ts-expect-error "seat" is not a field of the trip
        { ...first, records: ['seat'] },
      ],
    });
    expect(() => renderSaga(saga, placeholderResources(saga))).toThrow('records unknown field "seat"');
  });
});
