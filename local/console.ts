import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diagramOptionsOf, markSvg, toDot, type StateMark } from '../asl/diagram.ts';
import { roleOf, stepsOf, tableOf } from '../asl/saga.ts';
import { DiagramLayouts } from './diagram-layout.ts';
import { stateOfEvents } from './history.ts';
import { exampleInputOf } from './input.ts';
import type { LocalSaga } from './runtime.ts';
import { ApiError, type StepFunctionsServer } from './sfn-server.ts';
import { describeNeed, outcomeOf, routineEndsOf, UNSUCCESSFUL, type CommandContext, type Unsuccessful } from '../status/needs.ts';
import { endedExecutionOf, scanForNeeds, verdictOf, type ScannedMachine, type StatusSource } from '../status/scan.ts';

// The console: a page and a small script (local/console/), served by `saga local` on GET beside the Step Functions
// API (POST), so that the page calls the API from its own origin. The page reads executions, their histories and
// starts, stops and redrives through that API; what the API lacks (the diagram, the input's items, the alerts) it
// reads from one read-only view here.

export const CONSOLE_PATH = '/console/';

const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/console/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

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

/** One visit of a state, as AWS's console shows it when the state is clicked: its input, output, errors and retries. */
interface StateVisit {
  readonly state: string;
  /** Epoch seconds, as the API's timestamps. */
  readonly entered: number;
  exited?: number;
  readonly input?: unknown;
  output?: unknown;
  /** Calls of its function (or its SNS publish): the first, then each retry. */
  attempts: number;
  /** Each failed call's error and cause, in order. */
  readonly errors: { error?: unknown; cause?: unknown }[];
}

const FAILED_CALL = new Set([
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'TaskFailed',
  'TaskTimedOut',
  'LambdaFunctionScheduleFailed',
]);
const SUCCEEDED_CALL = new Set(['LambdaFunctionSucceeded', 'TaskSucceeded']);

/**
 * What an execution's history says for the page: the states entered, in order, what happened at each (each visit
 * with its input, output, errors and retries), and the alerts published.
 */
function pathOf(events: readonly WireEvent[]): {
  path: string[];
  marks: Record<string, StateMark[]>;
  alerts: PublishedAlert[];
  visits: StateVisit[];
} {
  const path: string[] = [];
  const visitList: StateVisit[] = [];
  const currentVisit = new Map<string, StateVisit>();
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
  const stateOf = stateOfEvents();
  const stateOfEvent = new Map<number, string>();
  const closeVisit = (state: string) => {
    const calls = visits.get(state) ?? [];
    if (calls.length > 1) mark(state, 'retried');
    if (calls.at(-1) === false) mark(state, 'failed');
  };
  for (const event of events) {
    const details = (key: string) => (event[key] ?? {}) as Record<string, unknown>;
    const entered = event.type.endsWith('StateEntered') ? String(details('stateEnteredEventDetails')['name']) : undefined;
    const state = stateOf(event);
    stateOfEvent.set(event.id, state);
    if (entered !== undefined) {
      closeVisit(entered);
      visits.set(entered, []);
      path.push(entered);
      const input = details('stateEnteredEventDetails')['input'];
      const visit: StateVisit = {
        state: entered,
        entered: event.timestamp,
        ...(input === undefined ? {} : { input }),
        attempts: 0,
        errors: [],
      };
      visitList.push(visit);
      currentVisit.set(entered, visit);
    } else if (SUCCEEDED_CALL.has(event.type)) {
      visits.get(state)?.push(true);
      const visit = currentVisit.get(state);
      if (visit) visit.attempts += 1;
    } else if (FAILED_CALL.has(event.type)) {
      visits.get(state)?.push(false);
      const visit = currentVisit.get(state);
      const failure = Object.entries(event).find(([key]) => key.endsWith('EventDetails'))?.[1] as
        { error?: unknown; cause?: unknown } | undefined;
      if (visit) {
        visit.attempts += 1;
        visit.errors.push({ error: failure?.error, cause: failure?.cause });
      }
    } else if (event.type.endsWith('StateExited')) {
      const exited = details('stateExitedEventDetails');
      const visit = currentVisit.get(String(exited['name']));
      if (visit) {
        visit.exited = event.timestamp;
        if (exited['output'] !== undefined) visit.output = exited['output'];
      }
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
  // ParallelStateFailed links to the failing branch's failure.
  const byId = new Map(events.map((event) => [event.id, event]));
  let ending = events.at(-1);
  while (ending?.type === 'ExecutionFailed' || ending?.type === 'ParallelStateFailed') ending = byId.get(ending.previousEventId);
  const stuck = ending && stateOfEvent.get(ending.id);
  if (events.at(-1)?.type === 'ExecutionFailed' && stuck !== undefined && marks[stuck]?.includes('failed')) mark(stuck, 'stuck');
  return { path, marks, alerts, visits: visitList };
}

/** An item as JSON can carry it: DynamoDB's sets (`cancelled_by`) become arrays. */
const plain = (item: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | null =>
  item === undefined
    ? null
    : Object.fromEntries(Object.entries(item).map(([key, value]) => [key, value instanceof Set ? [...value] : value]));

/** The executions the list shows: the newest, as many as a screen holds. */
const LISTED = 50;

const dateOf = (epochSeconds: unknown): Date | undefined => (typeof epochSeconds === 'number' ? new Date(epochSeconds * 1000) : undefined);

/** What `saga status` scans, read from this server's own API and tables, in process. */
function statusSourceOf(server: StepFunctionsServer, local: LocalSaga): StatusSource {
  return {
    async listExecutions(stateMachineArn, status, nextToken) {
      const page = (await server.call('ListExecutions', {
        stateMachineArn,
        statusFilter: status,
        maxResults: 1000,
        ...(nextToken ? { nextToken } : {}),
      })) as { executions: { executionArn: string; startDate: number }[]; nextToken?: string };
      return {
        executions: page.executions.map((listed) => ({
          executionArn: listed.executionArn,
          startDate: dateOf(listed.startDate) ?? new Date(0),
        })),
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      };
    },
    async describeExecution(executionArn) {
      const described = (await server.call('DescribeExecution', { executionArn })) as Record<string, unknown>;
      return endedExecutionOf({
        ...described,
        executionArn,
        startDate: dateOf(described['startDate']),
        stopDate: dateOf(described['stopDate']),
      });
    },
    async lastStateEntered(executionArn) {
      const { events } = (await server.call('GetExecutionHistory', { executionArn, reverseOrder: true, maxResults: 100 })) as {
        events: WireEvent[];
      };
      const entered = events.find((event) => event.type.endsWith('StateEntered'))?.['stateEnteredEventDetails'] as
        { name?: string } | undefined;
      return entered?.name;
    },
    bookingsOf: (key) => local.bookingsOf(key),
  };
}

class NotFound extends Error {}
class BadRequest extends Error {}

/**
 * The console's GET routes, for `StepFunctionsServerOptions.pages`. Every error is answered; none escapes. Diagrams
 * are laid out by `layouts`, off the request path: an execution's view answers at once, its diagram once ready.
 */
export function consolePages(
  local: LocalSaga,
  layouts = new DiagramLayouts(),
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
      // The rollback machine, served beside the saga, runs its own definitions.
      const machine = local.rollback?.stateMachineArn === described.stateMachineArn ? local.rollback : local;
      // Drawn from the definition the execution started with, whatever the step list has become since.
      const pinned = server.pinnedOf(executionArn);
      const { saga } = pinned;
      const { path, marks, alerts, visits } = pathOf(await history(executionArn));
      const input = JSON.parse(described.input) as Record<string, unknown> | null;
      const key = input?.[saga.keyField];
      // An input without a key (an invalid input) names no items.
      const bookings = typeof key === 'string' ? await local.bookingsOf(key, saga) : {};
      const role = machine === local ? 'saga' : 'rollback';
      const now = new Date();
      const verdict = await verdictOf(saga, role, source, executionArn, now);
      const need =
        verdict?.need === undefined
          ? undefined
          : describeNeed(saga, role, verdict.execution, verdict.need, verdict.bookingsLeft, path.at(-1), contextOf(), now);
      const note = machine.definitionNoteOf({ pinned });
      // Laid out once per definition, off the request path: until it is ready, the view answers without it.
      const layout = layouts.of(toDot(pinned.definition, [], {}, diagramOptionsOf(saga)));
      return {
        diagram: layout.status === 'ready' ? markSvg(layout.svg, pinned.definition, path, marks) : null,
        ...(layout.status === 'ready'
          ? {}
          : { diagramNote: layout.status === 'pending' ? 'Laying out the state machine…' : `No diagram: ${layout.reason}` }),
        // The definition the execution runs on (the one it started with), for the page to show as AWS's console does.
        definition: pinned.definition,
        revision: pinned.hash,
        ...(note ? { definitionNote: note } : {}),
        path,
        marks,
        visits,
        alerts,
        // Its need names where it stopped: past the pivot, stuck forward.
        outcome: outcomeOf(local.saga, String((described as { status?: unknown }).status), verdict?.execution.error, need?.need),
        need: need ?? null,
        items: stepsOf(saga).map((step) => ({ step: step.name, table: tableOf(step) ?? null, item: plain(bookings[step.name]) })),
      };
    }

    const source = statusSourceOf(server, local);
    const machines: ScannedMachine[] = [
      { role: 'saga', stateMachineArn: local.stateMachineArn },
      ...(local.rollback ? [{ role: 'rollback' as const, stateMachineArn: local.rollback.stateMachineArn }] : []),
    ];
    // Asked once the server listens: its endpoint names its port.
    const contextOf = (): CommandContext => ({
      endpointFlag: `--endpoint-url ${server.endpoint}`,
      ...(local.rollback ? { rollbackStateMachineArn: local.rollback.stateMachineArn } : {}),
    });

    /** The newest executions, each with its saga outcome, and every execution that needs a person, as `saga status` finds them. */
    async function executionsView(status: string | null) {
      const { executions } = (await server.call('ListExecutions', {
        stateMachineArn: local.stateMachineArn,
        maxResults: LISTED,
        ...(status ? { statusFilter: status } : {}),
      })) as { executions: { executionArn: string; status: string }[] };
      const now = new Date();
      const { needs } = await scanForNeeds(local.saga, source, { machines, context: contextOf(), now });
      // The scan's need names where each stopped (stuck forward, past the pivot); a verdict alone cannot.
      const needOfExecution = new Map(needs.map((need) => [need.executionArn, need.need]));
      const listed = await Promise.all(
        executions.map(async (execution) => {
          const verdict = UNSUCCESSFUL.includes(execution.status as Unsuccessful)
            ? await verdictOf(local.saga, 'saga', source, execution.executionArn, now)
            : undefined;
          const need = verdict?.need && (needOfExecution.get(execution.executionArn) ?? verdict.need);
          return {
            ...execution,
            outcome: outcomeOf(local.saga, execution.status, verdict?.execution.error, need),
            ...(verdict?.need === undefined ? {} : { bookingsLeft: verdict.bookingsLeft }),
          };
        }),
      );
      return { executions: listed, needs };
    }

    async function sagaView() {
      return {
        routineEnds: routineEndsOf(local.saga, 'saga'),
        name: local.saga.name,
        stateMachineArn: local.stateMachineArn,
        noun: local.saga.noun,
        keyField: local.saga.keyField,
        steps: stepsOf(local.saga).map((step) => ({
          name: step.name,
          role: roleOf(step),
          action: step.action,
          // The pivot and the retriable steps have none.
          compensation: step.compensation ?? null,
          table: tableOf(step) ?? null,
        })),
        example: await exampleInputOf(local.saga),
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
      if (url.pathname === '/console/api/executions') return json(response, 200, await executionsView(url.searchParams.get('status')));
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
