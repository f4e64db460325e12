import { describe, expect, it } from '@jest/globals';
import { placeholderResources, renderSaga, stepsOf, svgOf, toDot } from '../../asl/index.ts';
import { consolePages } from '../../local/console.ts';
import { DiagramLayouts } from '../../local/diagram-layout.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { tripSaga } from '../../saga.ts';
import { tripSagaOfSize } from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';

// The console's diagrams are laid out off the request path, once per definition: a saga too large to lay out in
// seconds still has its execution view, and the API answers all along.

/** The size validation accepts and Graphviz cannot lay out in minutes. */
const LARGE = 300;

const definition = renderSaga(tripSaga, placeholderResources(tripSaga));

describe('DiagramLayouts', () => {
  it('lays a definition out in a worker, once: the same drawing as svgOf, the same object on every later ask', async () => {
    const layouts = new DiagramLayouts();
    try {
      const dot = toDot(definition);
      expect(layouts.of(dot)).toEqual({ status: 'pending' });
      let layout = layouts.of(dot);
      while (layout.status === 'pending') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        layout = layouts.of(dot);
      }
      expect(layout).toEqual({ status: 'ready', svg: await svgOf(dot) });
      expect(layouts.of(dot)).toBe(layout);
    } finally {
      await layouts.close();
    }
  });

  it('gives up a layout past its budget, and says why', async () => {
    const layouts = new DiagramLayouts(1);
    const saga = tripSagaOfSize(LARGE);
    const dot = toDot(renderSaga(saga, placeholderResources(saga)));
    try {
      let layout = layouts.of(dot);
      while (layout.status === 'pending') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        layout = layouts.of(dot);
      }
      expect(layout).toEqual({ status: 'failed', reason: 'not laid out within 0.001 s: too large to draw here' });
    } finally {
      await layouts.close();
    }
  });
});

it(`the execution view of a ${LARGE}-step saga answers while its diagram is laid out, and DescribeExecution answers meanwhile`, async () => {
  const saga = tripSagaOfSize(LARGE);
  const layouts = new DiagramLayouts();
  const local = await LocalSaga.start({ saga });
  const server = await StepFunctionsServer.start(local, { retryDelayMs: 0, pages: consolePages(local, layouts) });
  try {
    // Its first action fails: a short run, so that the view is read beside a rollback that has ended, not 300 bookings.
    const trip = tripWithId('large', { fail: [stepsOf(saga)[0]?.action as string] });
    const { executionArn } = (await server.call('StartExecution', {
      stateMachineArn: local.stateMachineArn,
      name: trip.trip_id,
      input: JSON.stringify(trip),
    })) as { executionArn: string };
    const view = (await (await fetch(`${server.endpoint}/console/api/execution?arn=${encodeURIComponent(executionArn)}`)).json()) as {
      diagram: string | null;
      diagramNote: string;
      items: unknown[];
    };
    // Answered before the layout ended: the view has everything but the drawing.
    expect(view).toMatchObject({ diagram: null, diagramNote: 'Laying out the state machine…' });
    expect(view.items).toHaveLength(stepsOf(saga).length);
    expect(layouts.of(toDot(local.definition))).toEqual({ status: 'pending' });
    const described = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSStepFunctions.DescribeExecution' },
      body: JSON.stringify({ executionArn }),
    });
    expect(described.status).toBe(200);
    expect(layouts.of(toDot(local.definition))).toEqual({ status: 'pending' });
  } finally {
    await layouts.close();
    await server.close();
    await local.close();
  }
}, 120_000);
