import { createRequire } from 'node:module';
import { expect, it, jest } from '@jest/globals';
import { StateMachine } from 'aws-local-stepfunctions';
import { tripWithId } from '../helpers/trips.ts';

// The interpreter's patch (patches/aws-local-stepfunctions+3.0.0.patch) answers the paths `$` and `$$` over an object
// without jsonpath-plus: the state's input and the context object whole, which every Task of the saga passes its
// function. What a Task gets must be what jsonpath-plus evaluates, for any input: nothing (States.Runtime) included.

const { JSONPath } = createRequire(import.meta.url)('jsonpath-plus') as {
  JSONPath: (options: { path: string; json: unknown; wrap: false }) => unknown;
};

/** The function of the Task state `Call`. */
const TASK = 'arn:aws:lambda:us-east-1:000000000000:function:Call';

/** A machine of one Task state, `Call`, with `fields` beside its type, resource and end. */
const oneTask = (fields: Record<string, unknown>) =>
  new StateMachine({ StartAt: 'Call', States: { Call: { Type: 'Task', Resource: TASK, End: true, ...fields } } } as never);

const context = {
  Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:Patch:one', Name: 'one', RedriveCount: 0 },
  StateMachine: { Id: 'arn:aws:states:us-east-1:000000000000:stateMachine:Patch', Name: 'Patch' },
};

it.each<[string, unknown]>([
  ['an input of the saga', tripWithId('patched-paths')],
  ['an empty object', {}],
  ['an array', [1, 'two', { three: 3 }]],
  ['a string', 'text'],
  ['zero', 0],
  ['null', null],
])('a Task given $ and $$ gets what jsonpath-plus evaluates them to, for %s', async (_, input) => {
  const received: unknown[] = [];
  const machine = oneTask({ Parameters: { 'input.$': '$', 'context.$': '$$' } });
  const run = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: { Call: async (payload: unknown) => (received.push(payload), {}) } },
    context: context as never,
  });
  const expected = JSONPath({ path: '$', json: input as never, wrap: false });
  const outcome = await run.result.then(
    () => 'succeeded',
    // The interpreter wraps the error that failed the execution.
    (error: Error) => (error.cause instanceof Error ? error.cause.name : error.name),
  );
  if (expected === undefined) {
    expect(outcome).toBe('States.Runtime');
    return;
  }
  expect(outcome).toBe('succeeded');
  const [payload] = received as [{ input: unknown; context: Record<string, unknown> }];
  expect(payload.input).toEqual(expected);
  expect(payload.context).toMatchObject(context);
});

// The patch's `onEvent` hands the local engine each event of a run as it is dispatched (local/runtime.ts records the
// history so); the events, and their order, must be those `eventLogs` yields without it, a Parallel state's
// branches' forwarded included.
it('onEvent gets the events eventLogs would yield, in their order, and eventLogs then yields none', async () => {
  const branch = (name: string) => ({
    StartAt: `${name}Call`,
    States: {
      [`${name}Call`]: { Type: 'Task', Resource: `arn:aws:lambda:us-east-1:000000000000:function:${name}`, Next: `${name}Pass` },
      [`${name}Pass`]: { Type: 'Pass', End: true },
    },
  });
  const definition = {
    StartAt: 'Before',
    States: {
      Before: { Type: 'Pass', Next: 'Both' },
      Both: { Type: 'Parallel', Branches: [branch('Left'), branch('Right')], Next: 'After' },
      After: { Type: 'Pass', End: true },
    },
  };
  const handlers = { LeftCall: async () => ({ left: true }), RightCall: async () => ({ right: true }) };
  const shape = (event: { type: string; state?: { name: string } }) => `${event.type} ${event.state?.name ?? ''}`;
  const queued = new StateMachine(definition as never).run({} as never, { overrides: { taskResourceLocalHandlers: handlers } });
  const yielded: string[] = [];
  for await (const event of queued.eventLogs) yielded.push(shape(event));
  await queued.result;

  const heard: string[] = [];
  const listened = new StateMachine(definition as never).run({} as never, {
    overrides: { taskResourceLocalHandlers: handlers },
    onEvent: (event) => heard.push(shape(event)),
  });
  await listened.result;
  const left: string[] = [];
  for await (const event of listened.eventLogs) left.push(shape(event));

  expect(heard).toEqual(yielded);
  expect(yielded.some((event) => event.startsWith('ParallelBranch'))).toBe(true);
  expect(left).toEqual([]);
});

/**
 * A branch of many states run at once (a Task failing through its retries without a pause, caught, then two Pass
 * states) to its Fail state: its events come faster than an async iteration forwards them.
 */
const failingToTheEnd = {
  StartAt: 'Call',
  States: {
    Call: {
      Type: 'Task',
      Resource: TASK,
      Next: 'Caught',
      Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
    },
    Caught: { Type: 'Pass', Next: 'Noted' },
    Noted: { Type: 'Pass', Next: 'Stop' },
    Stop: { Type: 'Fail', Error: 'Stopped', Cause: 'on purpose' },
  },
};
const refusing = {
  taskResourceLocalHandlers: {
    Call: () => {
      throw new Error('refused');
    },
  },
  retryIntervalOverrides: { Call: 0 },
};

// A branch or an iteration that fails at its Fail state fails the execution at once: its own events (entering the Fail
// state, its failure as the Parallel's or Map's) must reach the log before the execution's end, which closes it. The
// library forwarded them through an async iteration that fell behind, and lost them.
it.each<[string, Record<string, unknown>, string]>([
  [
    'a Parallel branch',
    { Type: 'Parallel', Branches: [{ StartAt: 'Quick', States: { Quick: { Type: 'Pass', End: true } } }, failingToTheEnd], End: true },
    'ParallelBranchFailed',
  ],
  ['a Map iteration', { Type: 'Map', ItemsPath: '$.items', Iterator: failingToTheEnd, End: true }, 'MapIterationFailed'],
])('%s that fails at its Fail state logs entering it and its failure before the execution fails', async (_, nested, failed) => {
  const definition = { StartAt: 'Nested', States: { Nested: nested } };
  const shape = (event: { type: string; state?: { name: string } }) => `${event.type} ${event.state?.name ?? ''}`.trim();
  const queued = new StateMachine(definition as never).run({ items: [1] } as never, { overrides: refusing });
  const yielded: string[] = [];
  for await (const event of queued.eventLogs) yielded.push(shape(event));
  await expect(queued.result).rejects.toThrow();
  const end = yielded.length - 1;
  expect(yielded[end]).toBe('ExecutionFailed');
  expect(yielded.slice(0, end)).toContain('StateEntered Stop');
  expect(yielded.slice(yielded.indexOf('StateEntered Stop'), end)).toContain(failed);

  const heard: string[] = [];
  const listened = new StateMachine(definition as never).run({ items: [1] } as never, {
    overrides: refusing,
    onEvent: (event) => heard.push(shape(event)),
  });
  await expect(listened.result).rejects.toThrow();
  expect(heard).toEqual(yielded);
});

// The patch settles a Task's call and its timeout in one promise: what the call gives, throws or outlasts must end the
// state as it did before, the timeout as States.Timeout.
it.each<[string, () => unknown, string]>([
  ['a call that answers', () => Promise.resolve({ answered: true }), 'succeeded'],
  ['a value returned at once', () => ({ answered: true }), 'succeeded'],
  ['a call that fails', () => Promise.reject(Object.assign(new Error('no'), { name: 'Refused' })), 'Refused'],
  [
    'a handler that throws before it returns',
    () => {
      throw Object.assign(new Error('no'), { name: 'Refused' });
    },
    'Refused',
  ],
  ['a call that never answers', () => new Promise(() => undefined), 'States.Timeout'],
])('a Task given %s ends as such', async (_, handler, expected) => {
  const machine = oneTask({ TimeoutSeconds: 1 });
  const run = machine.run({} as never, { overrides: { taskResourceLocalHandlers: { Call: handler as never } } });
  const outcome = await run.result.then(
    (output: unknown) => (expect(output).toEqual({ answered: true }), 'succeeded'),
    (error: Error) => (error.cause instanceof Error ? error.cause.name : error.name),
  );
  expect(outcome).toBe(expected);
});

// The patch copies a run's input key by key: the copy must be what JSON gives, an own `__proto__` key (which
// JSON.parse makes an own property) kept as such, not made the copy's prototype.
it('a run starts on a copy of its input, key for key, an own "__proto__" key included', async () => {
  const input = JSON.parse('{"__proto__": {"polluted": true}, "nested": {"list": [1, {"deep": "x"}]}, "plain": "text"}') as Record<
    string,
    unknown
  >;
  const entered: Record<string, unknown>[] = [];
  const run = new StateMachine({ StartAt: 'Pass', States: { Pass: { Type: 'Pass', End: true } } } as never).run(input as never, {
    onEvent: (event) => {
      if (event.type === 'StateEntered') entered.push(event.state.input as Record<string, unknown>);
    },
  });
  await run.result;
  const [copy] = entered as [Record<string, unknown>];
  expect(JSON.stringify(copy)).toBe(JSON.stringify(input));
  expect(Object.keys(copy)).toEqual(['__proto__', 'nested', 'plain']);
  expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  expect(copy).not.toBe(input);
  expect(copy['nested']).not.toBe(input['nested']);
  expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
});

// The patch writes the time a state is entered ($$.State.EnteredTime) from a text made once a second: it must be what
// Date's toISOString writes at that instant, a millisecond under 10 or 100, a time before 1970 or past 9999 included.
it.each([0, 7, 42, 999, 1_000, 1_499_671_234_005, -1, -1_001, 253_402_300_800_123, -62_167_219_200_001])(
  'a state entered at %d ms writes its time as toISOString does',
  async (instant) => {
    const entered: unknown[] = [];
    const machine = oneTask({ Parameters: { 'context.$': '$$' } });
    const now = jest.spyOn(Date, 'now').mockReturnValue(instant);
    try {
      const run = machine.run({} as never, {
        overrides: {
          taskResourceLocalHandlers: {
            Call: async (payload: { context: { State: { EnteredTime: unknown } } }) => (
              entered.push(payload.context.State.EnteredTime),
              {}
            ),
          } as never,
        },
      });
      await run.result;
    } finally {
      now.mockRestore();
    }
    expect(entered).toEqual([new Date(instant).toISOString()]);
  },
);
