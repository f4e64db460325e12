import { readFile } from 'node:fs/promises';
import type { Saga } from '../asl/saga.ts';
import { SagaDefinitionError } from '../asl/validate.ts';

// What the local mode refuses of an execution's input before running it. Its interpreter and the histories
// it keeps copy and serialise the input recursively: an input nested deeply enough overflows the stack
// (RangeError) in the middle of an execution, so it is refused whole, at the start, with this reason.

/** How deep an input may nest: far beyond any saga's input, far below what overflows the stack. */
export const MAX_INPUT_DEPTH = 100;

/** Why the input cannot be run, or undefined. Walks the value without recursing, so that any depth can be measured. */
export function inputDepthProblem(input: unknown): string | undefined {
  const pending: [unknown, number][] = [[input, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_INPUT_DEPTH) return `the input nests deeper than ${MAX_INPUT_DEPTH} levels`;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return undefined;
}

/** The saga's example input: read from its JSON file, or as the saga gives it inline. */
export async function exampleInputOf(saga: Saga): Promise<unknown> {
  if (!(saga.example instanceof URL)) return saga.example;
  const text = await readFile(saga.example, 'utf8').catch((error: unknown) => {
    throw new SagaDefinitionError([
      `saga ${saga.name}: its example ${saga.example.toString()} cannot be read: ${(error as Error).message}`,
    ]);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SagaDefinitionError([`saga ${saga.name}: its example ${saga.example.toString()} is not JSON: ${(error as Error).message}`]);
  }
}

/** The example as the AWS CLI's `--input` takes it: the file's URL, or the JSON itself, quoted for a shell. */
export const exampleArgumentOf = (saga: Saga): string =>
  saga.example instanceof URL ? saga.example.href : `'${JSON.stringify(saga.example).replaceAll("'", "'\\''")}'`;
