// Sagas of a given size or shape, built as a user writes a step list: jest-free, so that benchmarks (plain scripts)
// share them with the tests.
import { defineSaga, parallel, type BookingStep, type Saga, type SagaStep } from '../../asl/index.ts';
import { tripSaga, type TripField } from '../../saga.ts';

const FIELDS = ['id', 'what', 'from', 'to'] as const;

/** A step as a user would add it to the step list. */
export function stepNamed(name: string): BookingStep<(typeof FIELDS)[number]> {
  return { name, action: `Book${name}`, compensation: `Cancel${name}`, table: `${name}Bookings`, records: ['what', 'from', 'to'] };
}

const text = { type: 'string' } as const;

/** A saga of `size` generic steps (Step1 … StepN), for shapes the trip does not cover. */
export function sagaOfSize(size: number): Saga {
  return defineSaga({
    name: `Saga${size}`,
    noun: 'Thing',
    keyField: 'id',
    input: Object.fromEntries(FIELDS.map((field) => [field, text])) as Record<(typeof FIELDS)[number], typeof text>,
    example: { id: 'example', what: 'a thing', from: 'here', to: 'there' },
    steps: Array.from({ length: size }, (_, index) => stepNamed(`Step${index + 1}`)),
  });
}

/** A saga of `size` steps over the trip's input, which the real handlers (validating trips) can serve. */
export function tripSagaOfSize(size: number): Saga {
  return defineSaga({
    ...tripSaga,
    name: `Trip${size}`,
    steps: Array.from({ length: size }, (_, index) => ({
      name: `Step${index + 1}`,
      action: `BookStep${index + 1}`,
      compensation: `CancelStep${index + 1}`,
      table: `Step${index + 1}Bookings`,
      records: [(['hotel', 'depart', 'rental'] as const)[index % 3] as TripField],
    })),
  });
}

/**
 * A saga over the trip's fields whose step list mixes groups and single steps: `shape` gives each entry's size (1 a
 * single step, 2 or more a group), e.g. [2, 1] is a group of two, then a step.
 */
export function tripSagaOfShape(shape: readonly number[]): Saga {
  const single = tripSagaOfSize(shape.reduce((sum, size) => sum + size, 0));
  let next = 0;
  const take = (size: number) => single.steps.slice(next, (next += size)) as SagaStep[];
  return {
    ...single,
    name: `Trip${shape.join('x')}`,
    steps: shape.map((size, index) => (size === 1 ? (take(1)[0] as SagaStep) : parallel(`Group${index + 1}`, take(size)))),
  };
}
