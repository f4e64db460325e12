import type { ErrorObject } from 'ajv';
import { payloadKeyOf, type Saga } from '../asl/saga.ts';
import { describeSchemaErrors } from '../asl/schema-errors.ts';
import { stepEventValidatorsOf } from './validator.ts';

/** Stands for the execution in the event: only the input is in question here. */
const ANY_EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:saga:validated';

/** At most this many characters of one problem: an unknown key may be as long as the input. */
export const MAX_PROBLEM_LENGTH = 200;
/**
 * At most this many characters in a whole `<Noun>Invalid` message: well under the 32,768 that AWS keeps of an
 * error's cause, of which the message is one part.
 */
export const MAX_PROBLEMS_LENGTH = 4096;

const clip = (problem: string): string => (problem.length <= MAX_PROBLEM_LENGTH ? problem : `${problem.slice(0, MAX_PROBLEM_LENGTH - 1)}…`);

/** The problems, each clipped, joined with "; " and cut short, saying how many were left out, past the whole's limit. */
export function problemsText(problems: readonly string[]): string {
  const more = (count: number): string => (count === 0 ? '' : `; … and ${count} more`);
  let text = '';
  for (const [index, problem] of problems.entries()) {
    const next = `${text}${index === 0 ? '' : '; '}${clip(problem)}`;
    // Room is kept for saying how many are left out after this one.
    if (next.length + more(problems.length - index - 1).length > MAX_PROBLEMS_LENGTH) return `${text}${more(problems.length - index)}`;
    text = next;
  }
  return text;
}

/**
 * The schema errors of a step event, one line per problem. With `input` (the payload key and the input's name), paths
 * are relative to the input, and the input itself is called by its name: "the order must have required property …".
 */
export function stepEventProblems(errors: readonly ErrorObject[] | null | undefined, input?: { key: string; name: string }): string[] {
  const relative = (errors ?? []).map((error) =>
    input === undefined ? error : { ...error, instancePath: error.instancePath.replace(new RegExp(`^/${input.key}`), '') },
  );
  return describeSchemaErrors(relative, input?.name ?? 'the event');
}

/** What the input is called in messages: "the order". */
export const inputNameOf = (saga: Pick<Saga, 'noun'>): string => `the ${saga.noun.toLowerCase()}`;

/** What is wrong with an input of the saga, one line per problem, by the same schema the functions use; empty if valid. */
export function inputProblemsOf(saga: Saga): (input: unknown) => string[] {
  const { event } = stepEventValidatorsOf(saga);
  const key = payloadKeyOf(saga);
  return (input) =>
    event({ [key]: input, execution: ANY_EXECUTION }) ? [] : stepEventProblems(event.errors, { key, name: inputNameOf(saga) });
}
