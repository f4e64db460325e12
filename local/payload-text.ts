import { CONTEXT_KEY } from '../asl/saga.ts';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

const hasKeys = (value: Record<string, unknown>, keys: readonly string[]): boolean => {
  const own = Object.keys(value);
  return own.length === keys.length && own.every((key, index) => key === keys[index]);
};

/** The keys of the context object a Task is sent, in the interpreter's order. */
const CONTEXT_PARTS = ['Execution', 'StateMachine', 'State'] as const;

/**
 * Writes a run's Task payloads as JSON. The saga's Tasks send the context object whole (`{"context": $$}`,
 * asl/render.ts), whose Execution and StateMachine are the same objects for every state of a run: their text is
 * written once a run, and each call's State alone. Any other payload is written whole.
 */
export function payloadTextOf(): (payload: unknown) => string {
  let written: { readonly execution: unknown; readonly stateMachine: unknown; readonly head: string } | undefined;
  return (payload) => {
    const context = isPlainObject(payload) && hasKeys(payload, [CONTEXT_KEY]) ? payload[CONTEXT_KEY] : undefined;
    if (!isPlainObject(context) || !hasKeys(context, CONTEXT_PARTS)) return JSON.stringify(payload ?? null);
    const { Execution: execution, StateMachine: stateMachine, State: state } = context;
    if (![execution, stateMachine, state].every(isPlainObject)) return JSON.stringify(payload);
    const reused = written !== undefined && written.execution === execution && written.stateMachine === stateMachine ? written : undefined;
    const { head } = (written = reused ?? {
      execution,
      stateMachine,
      head: `{${JSON.stringify(CONTEXT_KEY)}:{"Execution":${JSON.stringify(execution)},"StateMachine":${JSON.stringify(stateMachine)},"State":`,
    });
    return `${head}${JSON.stringify(state)}}}`;
  };
}
