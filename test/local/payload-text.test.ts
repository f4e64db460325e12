import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { StateMachine } from 'aws-local-stepfunctions';
import fc from 'fast-check';
import { taskStatesOf } from '../../asl/model.ts';
import { stepsOf } from '../../asl/saga.ts';
import { payloadTextOf } from '../../local/payload-text.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';
import { tripWithId } from '../helpers/trips.ts';

// The local engine writes a Task's payload as JSON reusing the text of the context object's parts that a run sends
// in every Task (local/payload-text.ts). The history must hold what JSON.stringify writes, whatever the payload.

let local: LocalSaga;
beforeAll(async () => {
  local = await LocalSaga.start({ saga: tripSaga });
});
afterAll(() => local.close());

/** What each Task of a run of the saga's definition is sent, in order: its first action failing, so that a compensation runs too. */
async function payloadsOfRuns(runs: number): Promise<unknown[][]> {
  const machine = new StateMachine(JSON.parse(JSON.stringify(local.definition)) as never, { validationOptions: { noValidate: true } });
  const [first] = stepsOf(tripSaga);
  const sent: unknown[][] = [];
  for (let run = 0; run < runs; run += 1) {
    const payloads: unknown[] = [];
    const handlers = Object.fromEntries(
      taskStatesOf(local.definition).map((state) => [
        state,
        async (payload: unknown) => {
          payloads.push(payload);
          if (run === 1 && state === first?.action) throw Object.assign(new Error('refused'), { name: 'Refused' });
          return { done: state };
        },
      ]),
    );
    const execution = machine.run(tripWithId(`payload-${run}`) as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: { [first?.action ?? '']: 0 } },
      context: { Execution: { Id: `${local.stateMachineArn}:payload-${run}`, RedriveCount: 0 } } as never,
    });
    await execution.result.catch(() => undefined);
    sent.push(payloads);
  }
  return sent;
}

it("writes each payload of the saga's runs as JSON.stringify does, the context's parts reused within a run", async () => {
  const runs = await payloadsOfRuns(2);
  for (const payloads of runs) {
    const payloadText = payloadTextOf();
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(payloadText(payload)).toBe(JSON.stringify(payload));
  }
  // One writer across runs: a run's own Execution is written, not the last run's.
  const payloadText = payloadTextOf();
  for (const payload of runs.flat()) expect(payloadText(payload)).toBe(JSON.stringify(payload));
});

it('writes any other payload as JSON.stringify does', () => {
  const part = fc.dictionary(fc.string(), fc.jsonValue());
  const nearly = fc.oneof(
    fc.jsonValue(),
    fc.record({ context: fc.record({ Execution: part, StateMachine: part, State: part }) }),
    fc.record({ context: fc.record({ Execution: part, StateMachine: part, State: fc.jsonValue() }) }),
    fc.record({ context: fc.record({ StateMachine: part, Execution: part, State: part }) }),
    fc.record({ context: fc.record({ Execution: part, StateMachine: part, State: part, Map: part }) }),
    fc.record({ context: fc.record({ Execution: part, StateMachine: part, State: part }), other: fc.jsonValue() }),
    fc.record({ context: fc.record({ Execution: fc.constant(undefined), StateMachine: part, State: part }) }),
  );
  fc.assert(
    fc.property(fc.array(nearly, { maxLength: 4 }), (payloads) => {
      const payloadText = payloadTextOf();
      for (const payload of payloads) expect(payloadText(payload)).toBe(JSON.stringify(payload ?? null));
    }),
    { numRuns: 300 },
  );
});
