import { createHash } from 'node:crypto';
import type { StateMachineDefinition } from '../asl/model.ts';
import type { Saga } from '../asl/saga.ts';

// What an execution runs on, to its end and through every redrive, whatever the step list becomes meanwhile: the
// definition it started with, and the step list that definition was rendered from (which tables, handler modules
// and fields each of its Task states calls). AWS pins the definition of an execution; the local mode pins both.

export interface PinnedDefinition {
  /** Names this pair among others: the first hex digits of a SHA-256 of both, as kept in the journal. */
  readonly hash: string;
  readonly saga: Saga;
  readonly definition: StateMachineDefinition;
}

/** Enough hex digits of the hash to tell two definitions of one data folder apart at a glance. */
const HASH_DIGITS = 12;

export function pinDefinition(saga: Saga, definition: StateMachineDefinition): PinnedDefinition {
  const hash = createHash('sha256').update(JSON.stringify({ saga, definition })).digest('hex').slice(0, HASH_DIGITS);
  // A JSON copy, as the journal gives it back: an execution runs on the same plain data whether kept or not.
  return JSON.parse(JSON.stringify({ hash, saga, definition })) as PinnedDefinition;
}
