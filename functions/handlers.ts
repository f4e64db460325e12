import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { book, cancel, type BookingMeta } from './bookings.ts';
import type { StepConfig } from './config.ts';
import { Logger } from './logger.ts';
import { compensationValidation, faultInjection, sagaLogging, transientDynamoDbErrors, tripValidation } from './middleware.ts';
import type { StepEvent, Trip } from './trip.ts';

export interface HandlerDependencies {
  readonly config: StepConfig;
  readonly client: DynamoDBDocumentClient;
  readonly logger?: Logger;
}

type StepOperation = (client: DynamoDBDocumentClient, config: StepConfig, trip: Trip, meta: BookingMeta) => Promise<unknown>;

/**
 * A step function: one DynamoDB operation, wrapped in the middlewares every step shares. Middlewares run
 * `before` in order and `onError` in reverse: errors are classified before they are logged.
 */
function stepHandler(
  operation: StepOperation,
  validation: (logger: Logger, config: StepConfig) => MiddlewareObj<StepEvent, unknown, Error, Context>,
  { config, client, logger = new Logger({ service: 'saga' }) }: HandlerDependencies,
) {
  return middy<StepEvent, unknown, Error, Context>()
    .use(sagaLogging(logger, config))
    .use(validation(logger, config))
    .use(faultInjection(logger, config))
    .use(transientDynamoDbErrors())
    .handler((event, context) =>
      operation(client, config, event.trip, { now: new Date(), requestId: context.awsRequestId, execution: event.execution }),
    );
}

/** A step's action: books the trip in the step's table. */
export const bookingHandler = (dependencies: HandlerDependencies) => stepHandler(book, () => tripValidation(), dependencies);

/** A step's compensation: cancels the trip's booking in the step's table. */
export const cancelHandler = (dependencies: HandlerDependencies) => stepHandler(cancel, compensationValidation, dependencies);

/** The client a deployed function uses; AWS_ENDPOINT_URL_DYNAMODB points it at a local DynamoDB. */
export const defaultClient = (): DynamoDBDocumentClient => DynamoDBDocumentClient.from(new DynamoDBClient({}));
