// The API of a custom step: a step whose action and compensation are the saga author's own code, wrapped by the same
// middlewares as a booking step (validation against the saga's schema, logging, error shaping, message caps, fault
// injection). The author writes a module whose default export is `defineStepCode({ action, compensation, probe })`
// and names it in the step list (`code: new URL('./my-step.ts', import.meta.url)`).
import { createHash } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isCustomStep, stepsOf, type Saga } from '../asl/saga.ts';
import { ConfigurationError } from './errors.ts';
import { actionValidation, stepMiddlewares, type HandlerDependencies } from './handlers.ts';
import { Logger } from './logger.ts';
import { compensationValidation, inputOf } from './middleware.ts';

export { TransientError } from './errors.ts';

/**
 * A failure of the step's business, e.g. `PaymentDeclined`: not retried; the saga rolls back (the failing step's own
 * compensation first). Name it as the state machine and the alerts will show it: `name` is the error's name.
 */
export class BusinessError extends Error {
  override readonly name: string;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** What a custom step's code is given on every call. */
export interface StepContext<Input> {
  /** The execution's input, validated against the saga's schema (an action is never called with an invalid one). */
  readonly input: Input;
  /** The execution that owns the work (`$$.Execution.Id`): record the effect against it, undo only its own. */
  readonly execution: string;
  /**
   * The same for every call of this step on behalf of this execution: retries, redrives, late and repeated deliveries.
   * Give it to whatever the step calls (a payment provider's Idempotency-Key), so that a repeated call does nothing new.
   */
  readonly idempotencyKey: string;
  /** Where the attempt stands: `retryCount` 0 on the state's first attempt; `redriveCount` 0 until a redrive. */
  readonly attempt: { readonly retryCount: number; readonly redriveCount: number };
  /** The values the step declared in `needs.environment`, as the function's environment carries them. */
  readonly environment: Readonly<Record<string, string | undefined>>;
  /** The physical name of the step's own table (`needs.table`), where it declared one. */
  readonly table: string | undefined;
  /** A DynamoDB client, for the step's own table. */
  readonly client: DynamoDBDocumentClient;
  readonly logger: Logger;
  readonly now: Date;
}

/** What a probe says of a step's effect for one key: present, owned by an execution, or undone by it. */
export interface Effect {
  readonly status: 'BOOKED' | 'CANCELLED';
  /** The execution that owns the effect. */
  readonly execution: string;
  readonly [detail: string]: unknown;
}

/** Asks what a custom step's effect is for one key (the saga's key field's value): for verify and the local reports. */
export type Probe = (context: {
  readonly key: string;
  readonly table: string | undefined;
  readonly client: DynamoDBDocumentClient;
  readonly environment: Readonly<Record<string, string | undefined>>;
}) => Promise<Effect | undefined>;

/** A custom step's code: its action, its compensation, and, for `saga verify` and the local reports, its probe. */
export interface StepCode<Input> {
  /**
   * Does the step's work once per execution: idempotent (a repeated call returns the first result); a late call, after
   * the compensation of its execution ran, must not bring the effect back (see README, "a late action").
   */
  readonly action: (context: StepContext<Input>) => Promise<Record<string, unknown>>;
  /**
   * Undoes the execution's own effect, if any; idempotent (undoing what is not there succeeds). None for the pivot or
   * a retriable step, which are never undone.
   */
  readonly compensation?: (context: StepContext<Input>) => Promise<Record<string, unknown>>;
  /** Whether the effect is present for a key, and whose it is. Without one, verify checks paths only. */
  readonly probe?: Probe;
}

/** The probes of a saga's custom steps that have one, by step name. */
export async function probesOf(saga: Saga): Promise<Map<string, Probe>> {
  const probes = new Map<string, Probe>();
  for (const step of stepsOf(saga).filter(isCustomStep)) {
    const { probe } = ((await import(String(step.code))) as { default: StepCode<unknown> }).default;
    if (probe) probes.set(step.name, probe);
  }
  return probes;
}

/** Types a custom step's code by the saga's input, e.g. `defineStepCode<Order>({ … })`. */
export function defineStepCode<Input>(code: StepCode<Input>): StepCode<Input> {
  return code;
}

/** The idempotency key of a step's work for an execution: a hash, so that it is short and names no one. */
export const idempotencyKeyOf = (execution: string, state: string): string =>
  createHash('sha256').update(`${execution}\n${state}`).digest('base64url').slice(0, 32);

/**
 * A custom step's function, action or compensation: the code the author wrote, wrapped in the middlewares every step
 * shares, in the same order as a booking step's.
 */
export function customStepHandler(code: StepCode<unknown>, role: 'action' | 'compensation', dependencies: HandlerDependencies) {
  const { config, client, logger = new Logger({ service: 'saga' }) } = dependencies;
  const run = role === 'action' ? code.action : code.compensation;
  if (typeof run !== 'function') throw new ConfigurationError(`${config.state}: its step's code has no ${role} function`);
  return stepMiddlewares(role === 'action' ? actionValidation : compensationValidation, { ...dependencies, logger }).handler((event) =>
    run({
      input: inputOf(event, config) ?? {},
      execution: event.execution,
      // The action's state names the key, so that the compensation and its retry state share it with the action.
      idempotencyKey: idempotencyKeyOf(event.execution, config.step),
      attempt: { retryCount: event.retryCount ?? 0, redriveCount: event.redriveCount ?? 0 },
      environment: config.environment ?? {},
      table: config.table,
      client,
      logger,
      now: new Date(),
    }),
  );
}
