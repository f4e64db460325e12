import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isCustomStep, stepsOf, type Saga } from '../asl/saga.ts';
import type { Probe } from '../functions/custom-step.ts';
import type { Bookings } from '../local/execution.ts';
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
  probes: ReadonlyMap<string, Probe>,
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
    bookingsOf: (key) => effectsOf(saga, probes, dynamodb, tables, key),
  };
}

/**
 * Each step's effect for a key, by step name, through the DynamoDB API: a booking's item, a custom step's as its probe
 * says (a custom step without a probe is left out: its table is its own to read).
 */
export async function effectsOf(
  saga: Saga,
  probes: ReadonlyMap<string, Probe>,
  client: DynamoDBDocumentClient,
  tables: Readonly<Record<string, string>>,
  key: string,
): Promise<Bookings> {
  const entries = await Promise.all(
    stepsOf(saga).map(async (step) => {
      const table = tables[step.name] as string;
      if (isCustomStep(step)) {
        const probe = probes.get(step.name);
        return probe === undefined ? [] : [[step.name, await probe({ key, table, client, environment: step.needs?.environment ?? {} })]];
      }
      const { Item } = await client.send(new GetCommand({ TableName: table, Key: { [saga.keyField]: key }, ConsistentRead: true }));
      return [[step.name, Item]];
    }),
  );
  return Object.fromEntries(entries.flat());
}
