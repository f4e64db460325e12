import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { book, cancel, type BookingMeta } from './bookings.ts';
import { ConfigVariable, type StepConfig } from './config.ts';
import { ConfigurationError } from './errors.ts';
import { Logger } from './logger.ts';
import {
  compensationValidation,
  contextObject,
  faultInjection,
  inputOf,
  inputValidation,
  sagaLogging,
  transientDynamoDbErrors,
  type StepEvent,
} from './middleware.ts';
import type { StepEventValidators } from './validator.ts';

export interface HandlerDependencies {
  readonly config: StepConfig;
  readonly client: DynamoDBDocumentClient;
  /** The saga's validators: compiled ahead of time in a bundle, in process by the local mode. */
  readonly validators: StepEventValidators;
  readonly logger?: Logger;
}

type StepOperation = (
  client: DynamoDBDocumentClient,
  config: StepConfig,
  input: Record<string, unknown>,
  meta: BookingMeta,
) => Promise<unknown>;

/** How a function validates its event: an action's, or a compensation's (which may still undo by key). */
export type StepValidation = (
  logger: Logger,
  config: StepConfig,
  validators: StepEventValidators,
) => MiddlewareObj<StepEvent, unknown, Error, Context>;

export const actionValidation: StepValidation = (_, config, validators) => inputValidation(config, validators);

/**
 * The middlewares every step's function shares, booking or custom, in one order: middlewares run `before` in order
 * and `onError` in reverse, so errors are classified before they are logged.
 */
export function stepMiddlewares(validation: StepValidation, { config, validators, logger }: HandlerDependencies & { logger: Logger }) {
  return middy<StepEvent, unknown, Error, Context>()
    .use(contextObject(config))
    .use(sagaLogging(logger, config))
    .use(validation(logger, config, validators))
    .use(faultInjection(logger, config))
    .use(transientDynamoDbErrors());
}

/** A step function: one DynamoDB operation, wrapped in the middlewares every step shares. */
function stepHandler(operation: StepOperation, validation: StepValidation, dependencies: HandlerDependencies) {
  const { config, client, logger = new Logger({ service: 'saga' }) } = dependencies;
  return stepMiddlewares(validation, { ...dependencies, logger }).handler((event, context) =>
    operation(client, config, inputOf(event, config) ?? {}, {
      now: new Date(),
      requestId: context.awsRequestId,
      execution: event.execution,
    }),
  );
}

/** A booking's function cannot run without its table: said at cold start, by name. */
const withTable = (dependencies: HandlerDependencies): HandlerDependencies => {
  if (dependencies.config.table === undefined) {
    throw new ConfigurationError(
      `bad function configuration: ${ConfigVariable.table} is not set (${dependencies.config.state} is a booking)`,
    );
  }
  return dependencies;
};

/** A step's action: books the input's key in the step's table. */
export const bookingHandler = (dependencies: HandlerDependencies) => stepHandler(book, actionValidation, withTable(dependencies));

/** A step's compensation: cancels the key's booking in the step's table. */
export const cancelHandler = (dependencies: HandlerDependencies) => stepHandler(cancel, compensationValidation, withTable(dependencies));

/** The client a deployed function uses; AWS_ENDPOINT_URL_DYNAMODB points it at a local DynamoDB. */
export const defaultClient = (): DynamoDBDocumentClient => DynamoDBDocumentClient.from(new DynamoDBClient({}));
