import type { MiddlewareObj } from '@middy/core';
import validator from '@middy/validator';
import type { Ajv, ErrorObject } from 'ajv';
import type { Context } from 'aws-lambda';
import type { StepConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { TransientError, TripInvalidError } from './errors.ts';
import { faultError, parseFault } from './faults.ts';
import validateStepEvent from './step-event-validator.generated.js';
import { problemsText, stepEventProblems } from './trip-problems.ts';
import { stepEventSchema, tripSchema, type StepEvent } from './trip.ts';

type StepMiddleware = MiddlewareObj<StepEvent, unknown, Error, Context>;

/**
 * Validates the event against the trip's JSON Schema (compiled ahead of time) with @middy/validator,
 * and reports a failure as TripInvalid, listing its problems (to a bounded length), before anything is written.
 */
export function tripValidation(): StepMiddleware {
  // @middy/validator calls eventSchema as a compiled validate function; its typings say Ajv.
  const validation = validator({ eventSchema: validateStepEvent as unknown as Ajv }) as StepMiddleware;
  return {
    before: async (request) => {
      try {
        await validation.before?.(request);
      } catch (error) {
        const problems = stepEventProblems((error as { cause?: { data?: ErrorObject[] } }).cause?.data);
        throw new TripInvalidError(`invalid trip: ${problemsText(problems)}`);
      }
    },
  };
}

/** A value that a property of the step event's schema allows, by its pattern and length alone. */
function matchesPropertyPattern(schema: { pattern?: string; maxLength?: number } | undefined, value: unknown): value is string {
  return (
    typeof value === 'string' &&
    schema?.pattern !== undefined &&
    new RegExp(schema.pattern).test(value) &&
    value.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY)
  );
}

/**
 * A compensation's validation. Its cancel needs only the trip's key and the execution. A trip that fails the schema
 * was never booked (actions validate first), unless the schema tightened since its booking: so such a trip is still
 * cancelled by its key when the key and the execution are usable, and otherwise answers "nothing to cancel"
 * without writing. Either way it never retries into an alert over an input that no retry can mend.
 */
export function compensationValidation(logger: Logger, config: StepConfig): StepMiddleware {
  const full = tripValidation();
  const keySchema = (tripSchema.properties as Record<string, { pattern?: string; maxLength?: number }>)[config.keyField];
  return {
    before: async (request) => {
      try {
        await full.before?.(request);
        return undefined;
      } catch (error) {
        if (!(error instanceof TripInvalidError)) throw error;
        const event = request.event as unknown as { trip?: Record<string, unknown>; execution?: unknown } | null;
        const key = event?.trip?.[config.keyField];
        if (matchesPropertyPattern(keySchema, key) && matchesPropertyPattern(stepEventSchema.properties.execution, event?.execution)) {
          logger.warn('the trip fails the schema: cancelling by its key', { error });
          return undefined;
        }
        logger.warn('the trip fails the schema and has no usable key or execution: nothing to cancel', { error });
        // Middy ends the invocation with what a `before` returns.
        return { status: 'CANCELLED', outcome: 'nothing to cancel' };
      }
    },
  };
}

/** Adds the request, the state and the trip id to every log line of an invocation, and logs how it ended. */
export function sagaLogging(logger: Logger, config: StepConfig): StepMiddleware {
  let coldStart = true;
  return {
    before: (request) => {
      const tripId = (request.event as unknown as { trip?: Record<string, unknown> } | null)?.trip?.[config.keyField];
      logger.resetKeys();
      logger.appendKeys({
        function_request_id: request.context.awsRequestId,
        cold_start: coldStart,
        state: config.state,
        [config.keyField]: typeof tripId === 'string' ? tripId : null,
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
 * Fails on purpose when the trip's `fail` list names this state, but only where configuration enables fault
 * injection. A fault that heals reads where the attempt stands from what Step Functions passed (its retry and
 * redrive counts), never from state of its own, so that it heals alike on AWS and locally.
 */
export function faultInjection(logger: Logger, config: StepConfig): StepMiddleware {
  return {
    before: (request) => {
      const fail: unknown = request.event.trip.fail;
      // A compensation may run on a trip that failed the schema: its fail list may be anything.
      if (!Array.isArray(fail)) return;
      const fault = fail
        .flatMap((entry) => (typeof entry === 'string' ? (parseFault(entry) ?? []) : []))
        .find(({ state }) => state === config.state);
      if (!fault) return;
      if (!config.faultInjection) {
        logger.warn('the trip asks this state to fail, but fault injection is disabled: ignored');
        return;
      }
      const { retryCount, redriveCount } = request.event;
      const error = faultError(fault, { number: (retryCount ?? 0) + 1, redriveCount: redriveCount ?? 0 }, 'the trip\'s "fail" list');
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
