import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { stepsOf, type Saga } from '../asl/saga.ts';
import { endedExecutionOf, type StatusSource } from './scan.ts';

// The scan's source through the AWS SDK: Step Functions and DynamoDB on AWS, or any endpoint that serves their APIs.

/** ListExecutions' largest page. */
const PAGE = 1000;
/** Enough of a history's end to hold the last state entered: a stuck Task's retries follow its entry. */
const HISTORY_TAIL = 100;

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
      return endedExecutionOf({ ...(await sfn.send(new DescribeExecutionCommand({ executionArn }))), executionArn });
    },
    async lastStateEntered(executionArn) {
      const { events } = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: HISTORY_TAIL, includeExecutionData: false }),
      );
      return events?.find((event) => event.type?.endsWith('StateEntered'))?.stateEnteredEventDetails?.name;
    },
    async bookingsOf(key) {
      const entries = await Promise.all(
        stepsOf(saga).map(async (step) => {
          const { Item } = await dynamodb.send(
            new GetCommand({ TableName: tables[step.name], Key: { [saga.keyField]: key }, ConsistentRead: true }),
          );
          return [step.name, Item] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}
