import { StateMachine } from 'aws-local-stepfunctions';
import { taskStatesOf, type Saga, type StateMachineDefinition } from '../../asl/index.ts';
import { stepEventOf } from '../../functions/middleware.ts';
import { tripSaga } from '../../saga.ts';

/** How a Task misbehaves: which error it throws, and on how many of its first calls. */
export interface Fault {
  readonly error: string;
  readonly times: number | 'always';
}

export interface SagaRun {
  /** States entered, in order (a retry does not enter a state again). */
  readonly entered: string[];
  /** Calls of each Task's handler, retries included. */
  readonly calls: Readonly<Record<string, number>>;
  /** What each Task's handler received; a saga function's, as its first middleware reads it (a StepEvent). */
  readonly inputs: Readonly<Record<string, unknown[]>>;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: unknown;
}

/** The execution's id, as Step Functions gives it in the context object (`$$.Execution.Id`). */
export const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:Saga:interpreted';

/** Where a function's first attempt stands, in an execution never redriven: what its payload says besides the trip. */
export const FIRST_ATTEMPT = { retryCount: 0, redriveCount: 0 } as const;

/** The definitions the interpreter has validated already. */
const validated = new WeakSet<StateMachineDefinition>();

/**
 * Runs a definition in aws-local-stepfunctions (an independent ASL interpreter), every Task served by a
 * stub that succeeds unless `faults` says otherwise. Retry pauses are overridden to 0 ms. `saga` names the payload
 * key under which a function's event holds the input.
 */
export async function runDefinition(
  definition: StateMachineDefinition,
  input: unknown,
  faults: Readonly<Record<string, Fault>> = {},
  saga: Pick<Saga, 'noun'> = tripSaga,
): Promise<SagaRun> {
  const taskNames = taskStatesOf(definition);
  const calls: Record<string, number> = {};
  const inputs: Record<string, unknown[]> = {};
  const handlers = Object.fromEntries(
    taskNames.map((name) => [
      name,
      async (taskInput: unknown) => {
        calls[name] = (calls[name] ?? 0) + 1;
        (inputs[name] ??= []).push(stepEventOf(taskInput, saga));
        const fault = faults[name];
        if (fault && (fault.times === 'always' || (calls[name] as number) <= fault.times)) {
          throw Object.assign(new Error(`${name} failed on purpose`), { name: fault.error });
        }
        return { done: name };
      },
    ]),
  );
  // The interpreter types the definition with its own, wider model of ASL. It validates a definition the first time
  // it meets it (asl-validator compiles its schemas each time: over 100 ms), not on every run.
  const machine = new StateMachine(definition as ConstructorParameters<typeof StateMachine>[0], {
    validationOptions: { noValidate: validated.has(definition) },
  });
  validated.add(definition);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: Object.fromEntries(taskNames.map((name) => [name, 0])),
    },
    // As AWS fills the context object for an execution never redriven; `$$.State` is the interpreter's own.
    context: { Execution: { Id: EXECUTION_ARN, Name: 'interpreted', RedriveCount: 0 } } as never,
  });
  type EventLog = typeof execution.eventLogs extends AsyncGenerator<infer Event> ? Event : never;
  const events: EventLog[] = [];
  const settled = execution.result.then(
    (output) => ({ status: 'SUCCEEDED' as const, output }),
    () => ({ status: 'FAILED' as const }),
  );
  for await (const event of execution.eventLogs) events.push(event);
  const outcome = await settled;
  const failure = events.find((event) => event.type === 'ExecutionFailed');
  return {
    entered: events.flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : [])),
    calls,
    inputs,
    ...outcome,
    ...(failure && 'Error' in failure ? { error: failure.Error, cause: failure.Cause } : {}),
  };
}
