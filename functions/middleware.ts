import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { CONTEXT_KEY, FAULT_FIELD, invalidErrorOf, payloadKeyOf } from '../asl/saga.ts';
import type { StepConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { InputInvalidError, TransientError } from './errors.ts';
import { faultError, parseFault } from './faults.ts';
import { inputNameOf, problemsText, stepEventProblems } from './input-problems.ts';
import type { StepEventValidators } from './validator.ts';

/**
 * What Step Functions passes each function (functions/validator.ts, stepEventSchemaOf): the input under the saga's
 * payload key (e.g. `order`), the execution that owns the work, and where the attempt stands.
 */
export interface StepEvent {
  readonly execution: string;
  /** `$$.State.RetryCount`: 0 on the state's first attempt. */
  readonly retryCount?: number;
  /** `$$.Execution.RedriveCount`: 0 until the execution is redriven (absent on EXPRESS, which cannot be). */
  readonly redriveCount?: number;
  readonly [payloadKey: string]: unknown;
}

/** The input in an event, under the saga's payload key; anything, before validation. */
export const inputOf = (event: unknown, config: Pick<StepConfig, 'noun'>): Record<string, unknown> | undefined => {
  const input = (event as Record<string, unknown> | null)?.[payloadKeyOf(config)];
  return typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : undefined;
};

type StepMiddleware = MiddlewareObj<StepEvent, unknown, Error, Context>;

/** What a StepEvent is read from in the context object that the saga's Tasks send whole (asl/render.ts). */
interface ContextObject {
  readonly Execution: { readonly Id: string; readonly Input: unknown; readonly RedriveCount?: number };
  readonly State?: { readonly RetryCount?: number };
}

const isContextObject = (value: unknown): value is ContextObject =>
  typeof value === 'object' && value !== null && typeof (value as { Execution?: unknown }).Execution === 'object';

/**
 * The saga's Tasks send the context object whole, `{"context": $$}`, one short template in every Task; the rollback
 * machine, a late delivery or a direct invocation send the StepEvent itself. This reads the former as the latter,
 * and leaves anything else as it is, for validation to name.
 */
export function stepEventOf(event: unknown, config: Pick<StepConfig, 'noun'>): unknown {
  if (typeof event !== 'object' || event === null || Object.keys(event).length !== 1) return event;
  const context = (event as Record<string, unknown>)[CONTEXT_KEY];
  if (!isContextObject(context)) return event;
  const { Execution, State } = context;
  const stepEvent: Record<string, unknown> = { [payloadKeyOf(config)]: Execution.Input, execution: Execution.Id };
  if (State?.RetryCount !== undefined) stepEvent['retryCount'] = State.RetryCount;
  if (Execution.RedriveCount !== undefined) stepEvent['redriveCount'] = Execution.RedriveCount;
  return stepEvent;
}

/** First in the chain, so that everything after it reads one shape of event (stepEventOf). */
export function contextObject(config: Pick<StepConfig, 'noun'>): StepMiddleware {
  return {
    before: (request) => {
      request.event = stepEventOf(request.event, config) as StepEvent;
    },
  };
}

/**
 * Validates the event against the saga's JSON Schema with its compiled ajv function (compiled ahead of time in a
 * bundle), and reports a failure as `<Noun>Invalid`, listing its problems (to a bounded length), before anything is
 * written. The function is called directly, synchronously: @middy/validator did no more than call it, and wrapping
 * it cost every invocation two promises.
 */
export function inputValidation(config: StepConfig, validators: StepEventValidators): StepMiddleware {
  const validate = validators.event;
  return {
    before: (request) => {
      if (validate(request.event)) return;
      const problems = stepEventProblems(validate.errors);
      throw new InputInvalidError(invalidErrorOf(config), `invalid ${config.noun.toLowerCase()}: ${problemsText(problems)}`);
    },
  };
}

/**
 * A compensation's validation. Its undo needs only the input's key and the execution. An input that fails the schema
 * was never acted on (actions validate first), unless the schema tightened since: so such an input is still undone
 * by its key when the key and the execution are usable, and otherwise answers "nothing to cancel" without writing.
 * Either way it never retries into an alert over an input that no retry can mend.
 */
export function compensationValidation(logger: Logger, config: StepConfig, validators: StepEventValidators): StepMiddleware {
  const full = inputValidation(config, validators);
  const name = inputNameOf(config);
  return {
    before: (request) => {
      try {
        full.before?.(request);
        return undefined;
      } catch (error) {
        if (!(error instanceof InputInvalidError)) throw error;
        if (validators.owner(request.event)) {
          logger.warn(`${name} fails the schema: undoing by its key`, { error });
          return undefined;
        }
        logger.warn(`${name} fails the schema and has no usable key or execution: nothing to cancel`, { error });
        // Middy ends the invocation with what a `before` returns.
        return { status: 'CANCELLED', outcome: 'nothing to cancel' };
      }
    },
  };
}

/** Adds the request, the state and the input's key to every log line of an invocation, and logs how it ended. */
export function sagaLogging(logger: Logger, config: StepConfig): StepMiddleware {
  let coldStart = true;
  return {
    before: (request) => {
      const key = inputOf(request.event, config)?.[config.keyField];
      logger.resetKeys();
      logger.appendKeys({
        function_request_id: request.context.awsRequestId,
        cold_start: coldStart,
        state: config.state,
        [config.keyField]: typeof key === 'string' ? key : null,
      });
      coldStart = false;
    },
    after: (request) => {
      logger.info('done', { result: request.response as Record<string, unknown> });
    },
    onError: (request) => {
      const error = request.error as Error;
      const transient = error instanceof TransientError;
      logger[transient ? 'warn' : 'error']('failed', { error });
    },
  };
}

/**
 * Fails on purpose when the input's `fail` list names this state, but only where configuration enables fault
 * injection. A fault that heals reads where the attempt stands from what Step Functions passed (its retry and
 * redrive counts), never from state of its own, so that it heals alike on AWS and locally.
 */
export function faultInjection(logger: Logger, config: StepConfig): StepMiddleware {
  return {
    before: (request) => {
      const fail: unknown = inputOf(request.event, config)?.[FAULT_FIELD];
      // A compensation may run on an input that failed the schema: its fail list may be anything.
      if (!Array.isArray(fail)) return;
      const fault = fail
        .flatMap((entry) => (typeof entry === 'string' ? (parseFault(entry) ?? []) : []))
        .find(({ state }) => state === config.state);
      if (!fault) return;
      if (!config.faultInjection) {
        logger.warn(`${inputNameOf(config)} asks this state to fail, but fault injection is disabled: ignored`);
        return;
      }
      const { retryCount, redriveCount } = request.event;
      const error = faultError(
        fault,
        { number: (retryCount ?? 0) + 1, redriveCount: redriveCount ?? 0 },
        `${inputNameOf(config)}'s "fail" list`,
      );
      if (error) throw error;
    },
  };
}

/** DynamoDB errors that a later attempt may not meet; the SDK has already retried them itself. */
const TRANSIENT_DYNAMODB_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

/** Reports throttling and DynamoDB's retryable faults as TransientError, which the state machine retries. */
export function transientDynamoDbErrors(): StepMiddleware {
  return {
    onError: (request) => {
      const error = request.error as (Error & { $retryable?: unknown }) | null;
      if (error && (TRANSIENT_DYNAMODB_ERRORS.has(error.name) || error.$retryable)) {
        request.error = new TransientError(`${error.name}: ${error.message}`, { cause: error });
      }
    },
  };
}
