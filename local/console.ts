import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { svgOf, toDot, type StateMark } from '../asl/diagram.ts';
import { stepsOf } from '../asl/saga.ts';
import type { LocalSaga } from './runtime.ts';
import { ApiError, type StepFunctionsServer } from './sfn-server.ts';

// The console: a page and a small script (local/console/), served by `saga local` on GET beside the Step Functions
// API (POST), so that the page calls the API from its own origin. The page reads executions, their histories and
// starts, stops and redrives through that API; what the API lacks (the diagram, the trip's items, the alerts) it
// reads from one read-only view here.

export const CONSOLE_PATH = '/console/';

const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/console/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

const EXAMPLE_TRIP = new URL('../examples/trip.json', import.meta.url);

/** An event of GetExecutionHistory as the API answers it. */
interface WireEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly type: string;
  readonly timestamp: number;
  readonly [details: string]: unknown;
}

/** An SNS publish of the state machine's, as its history tells it. */
interface PublishedAlert {
  readonly state: string;
  /** Epoch seconds, as the API's timestamps. */
  readonly at: number;
  readonly subject: unknown;
  readonly message: unknown;
  /** False until the publish succeeds: a failed publish still leads to the retry. */
  published: boolean;
}

/**
 * What an execution's history says for the page: the states entered, in order, what happened at each, and the
 * alerts published.
 */
function pathOf(events: readonly WireEvent[]): { path: string[]; marks: Record<string, StateMark[]>; alerts: PublishedAlert[] } {
  const path: string[] = [];
  const marks: Record<string, StateMark[]> = {};
  const alerts: PublishedAlert[] = [];
  const mark = (state: string, value: StateMark) => {
    const list = (marks[state] ??= []);
    if (!list.includes(value)) list.push(value);
  };
  // Per visit of a state: its calls' outcomes, true for a success. A visit that made more than one call was
  // retried; one whose last call failed failed (its catcher took over, or the execution ended there). A state's
  // events follow its entry through `previousEventId`: a Parallel state's branches run at once, interleaved.
  const visits = new Map<string, boolean[]>();
  const stateOfEvent = new Map<number, string>();
  const closeVisit = (state: string) => {
    const calls = visits.get(state) ?? [];
    if (calls.length > 1) mark(state, 'retried');
    if (calls.at(-1) === false) mark(state, 'failed');
  };
  for (const event of events) {
    const details = (key: string) => (event[key] ?? {}) as Record<string, unknown>;
    const entered = event.type.endsWith('StateEntered') ? String(details('stateEnteredEventDetails')['name']) : undefined;
    const state = entered ?? stateOfEvent.get(event.previousEventId) ?? '';
    stateOfEvent.set(event.id, state);
    if (entered !== undefined) {
      closeVisit(entered);
      visits.set(entered, []);
      path.push(entered);
    } else if (event.type === 'LambdaFunctionSucceeded' || event.type === 'TaskSucceeded') {
      visits.get(state)?.push(true);
    } else if (event.type === 'LambdaFunctionFailed' || event.type === 'TaskFailed') {
      visits.get(state)?.push(false);
    }
    // The only non-Lambda Task is the alert's SNS publish; its events follow the state's entry.
    if (event.type === 'TaskScheduled') {
      const { Subject, Message } = JSON.parse(String(details('taskScheduledEventDetails')['parameters'])) as Record<string, unknown>;
      alerts.push({ state, at: event.timestamp, subject: Subject, message: Message, published: false });
    }
    const alert = alerts.at(-1);
    if (event.type === 'TaskSucceeded' && alert) alert.published = true;
  }
  for (const state of visits.keys()) closeVisit(state);
  // An execution that failed at a Task state (not a Fail state) stopped there, waiting for a redrive; inside a
  // group, the group's Parallel state failed after it.
  const ending = events.findLast((event) => event.type !== 'ExecutionFailed' && event.type !== 'ParallelStateFailed');
  const stuck = ending && stateOfEvent.get(ending.id);
  if (events.at(-1)?.type === 'ExecutionFailed' && stuck !== undefined && marks[stuck]?.includes('failed')) mark(stuck, 'stuck');
  return { path, marks, alerts };
}

/** An item as JSON can carry it: DynamoDB's sets (`cancelled_by`) become arrays. */
const plain = (item: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | null =>
  item === undefined
    ? null
    : Object.fromEntries(Object.entries(item).map(([key, value]) => [key, value instanceof Set ? [...value] : value]));

class NotFound extends Error {}
class BadRequest extends Error {}

/** The console's GET routes, for `StepFunctionsServerOptions.pages`. Every error is answered; none escapes. */
export function consolePages(
  local: LocalSaga,
): (server: StepFunctionsServer) => (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return (server) => {
    async function history(executionArn: string): Promise<WireEvent[]> {
      const events: WireEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = (await server.call('GetExecutionHistory', {
          executionArn,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        })) as {
          events: WireEvent[];
          nextToken?: string;
        };
        events.push(...page.events);
        nextToken = page.nextToken;
      } while (nextToken);
      return events;
    }

    async function executionView(executionArn: string) {
      const described = (await server.call('DescribeExecution', { executionArn })) as { input: string; stateMachineArn: string };
      // The rollback machine, served beside the saga, is drawn from its own definition.
      const machine = local.rollback?.stateMachineArn === described.stateMachineArn ? local.rollback : local;
      const { path, marks, alerts } = pathOf(await history(executionArn));
      const input = JSON.parse(described.input) as Record<string, unknown> | null;
      const tripId = input?.[local.saga.keyField];
      // An input without a trip id (an invalid trip) names no items.
      const bookings = typeof tripId === 'string' ? await local.bookingsOf(tripId) : {};
      return {
        diagram: await svgOf(toDot(machine.definition, path, marks)),
        path,
        marks,
        alerts,
        items: stepsOf(local.saga).map((step) => ({ step: step.name, table: step.table, item: plain(bookings[step.name]) })),
      };
    }

    async function sagaView() {
      return {
        name: local.saga.name,
        stateMachineArn: local.stateMachineArn,
        keyField: local.saga.keyField,
        steps: stepsOf(local.saga).map(({ name, action, compensation, table }) => ({ name, action, compensation, table })),
        exampleTrip: JSON.parse(await readFile(EXAMPLE_TRIP, 'utf8')) as unknown,
      };
    }

    async function answer(url: URL, response: ServerResponse): Promise<void> {
      if (url.pathname === '/' || url.pathname === '/console') {
        response.writeHead(302, { location: CONSOLE_PATH }).end();
        return;
      }
      const asset = ASSETS[url.pathname];
      if (asset) {
        const body = await readFile(new URL(`console/${asset.file}`, import.meta.url));
        response.writeHead(200, { 'content-type': asset.type, 'content-length': body.length, 'cache-control': 'no-cache' }).end(body);
        return;
      }
      if (url.pathname === '/console/api/saga') return json(response, 200, await sagaView());
      if (url.pathname === '/console/api/execution') {
        const arn = url.searchParams.get('arn');
        if (!arn) throw new BadRequest('expected ?arn=<execution ARN>');
        return json(response, 200, await executionView(arn));
      }
      throw new NotFound(`no console page at ${url.pathname}: the console is at ${CONSOLE_PATH}`);
    }

    return async (request, response) => {
      try {
        request.resume();
        await answer(new URL(request.url ?? '/', 'http://localhost'), response);
      } catch (error) {
        const status =
          error instanceof NotFound
            ? 404
            : error instanceof BadRequest
              ? 400
              : error instanceof ApiError
                ? error.type === 'ExecutionDoesNotExist'
                  ? 404
                  : error.status
                : 500;
        if (!response.headersSent) json(response, status, { error: (error as Error).message });
        else response.destroy();
      }
    };
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}
