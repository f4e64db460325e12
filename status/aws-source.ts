import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { stepsOf, type Saga } from '../asl/saga.ts';
import { UNSUCCESSFUL, type EndedExecution, type Unsuccessful } from './needs.ts';
import type { StatusSource } from './scan.ts';

// The scan's source through the AWS SDK: Step Functions and DynamoDB on AWS, or any endpoint that serves their APIs.

/** ListExecutions' largest page. */
const PAGE = 1000;
/** Enough of a history's end to hold the last state entered: a stuck Task's retries follow its entry. */
const HISTORY_TAIL = 100;

const isUnsuccessful = (status: string | undefined): status is Unsuccessful => UNSUCCESSFUL.includes(status as Unsuccessful);

export function awsStatusSource(
  saga: Saga,
  sfn: SFNClient,
  dynamodb: DynamoDBDocumentClient,
  tables: Readonly<Record<string, string>>,
): StatusSource {
  return {
    async listExecutions(stateMachineArn, status, nextToken) {
      const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: status, maxResults: PAGE, nextToken }));
      return {
        executions: (page.executions ?? []).map((listed) => ({
          executionArn: listed.executionArn ?? '',
          startDate: listed.startDate ?? new Date(0),
        })),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },
    async describeExecution(executionArn) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (!isUnsuccessful(described.status) || described.stopDate === undefined) return undefined;
      let input: unknown;
      try {
        input = JSON.parse(described.input ?? 'null');
      } catch {
        input = described.input;
      }
      const execution: EndedExecution = {
        executionArn,
        stateMachineArn: described.stateMachineArn ?? '',
        name: described.name ?? '',
        status: described.status,
        startDate: described.startDate ?? new Date(0),
        stopDate: described.stopDate,
        ...(described.error === undefined ? {} : { error: described.error }),
        ...(described.cause === undefined ? {} : { cause: described.cause }),
        input,
        redrivable: described.redriveStatus === 'REDRIVABLE',
        redriveCount: described.redriveCount ?? 0,
      };
      return execution;
    },
    async lastStateEntered(executionArn) {
      const { events } = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: HISTORY_TAIL, includeExecutionData: false }),
      );
      return events?.find((event) => event.type?.endsWith('StateEntered'))?.stateEnteredEventDetails?.name;
    },
    async bookingsOf(tripId) {
      const entries = await Promise.all(
        stepsOf(saga).map(async (step) => {
          const { Item } = await dynamodb.send(
            new GetCommand({ TableName: tables[step.name], Key: { [saga.keyField]: tripId }, ConsistentRead: true }),
          );
          return [step.name, Item] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}
