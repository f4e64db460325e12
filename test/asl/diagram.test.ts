import { describe, expect, it } from '@jest/globals';
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import {
  alertStateOf,
  compensatableStepsOf,
  diagramOptionsOf,
  edgesOfDefinition,
  pivotOf,
  placeholderResources,
  POINT_OF_NO_RETURN,
  renderSaga,
  retriableStepsOf,
  retryStateOf,
  svgOf,
  toDot,
  toMermaid,
  type Saga,
  type SagaStep,
} from '../../asl/index.ts';
import orderSaga from '../../examples/order.ts';
import { tripSaga } from '../../saga.ts';
import { graphsOf } from '../helpers/asl.ts';
import { addedStep, firstStep, tripParallelSaga, tripSagaOfTwoStagesOrMore, tripSagaWithAddedStep, withPivotAt } from '../helpers/sagas.ts';

const definition = renderSaga(tripSaga, placeholderResources(tripSaga));

describe('toMermaid', () => {
  const mermaid = toMermaid(definition);

  it('pins the trip flowchart', () => {
    expect(mermaid).toMatchSnapshot();
  });

  it('draws every state once and every edge of the definition, plus the success ending', () => {
    const lines = mermaid.split('\n');
    // A group's states are drawn inside it: every graph's, the branches' too.
    const graphs = graphsOf(definition);
    for (const name of graphs.flatMap((graph) => Object.keys(graph.States))) {
      expect(lines.filter((line) => line.includes(`"${name}`))).toHaveLength(1);
    }
    const arrows = lines.filter((line) => line.includes('-->') || line.includes('-.->'));
    expect(arrows).toHaveLength(graphs.flatMap(edgesOfDefinition).length + 1);
  });

  it('labels catchers with what they catch and marks retries', () => {
    expect(mermaid).toContain('-.->|"TripInvalid"|');
    expect(mermaid).toContain(`["${firstStep.action}<br/>retry transient ×3"]`);
    expect(mermaid).toContain(`["${firstStep.compensation}<br/>retry ×5"]`);
  });

  it('follows the step list: an added step adds its states', () => {
    const four = toMermaid(renderSaga(tripSagaWithAddedStep, placeholderResources(tripSagaWithAddedStep)));
    expect(four).toContain(`"${addedStep.action}`);
    expect(four).toContain(`"Alert${addedStep.compensation}`);
  });
});

describe('toDot', () => {
  it('is valid Graphviz: the SVG it renders names every state', async () => {
    const graphviz = await Graphviz.load();
    const svg = graphviz.dot(toDot(definition), 'svg');
    expect(svg).toContain('<svg');
    for (const name of Object.keys(definition.States)) expect(svg).toContain(`>${name}</text>`);
  });

  it("draws an execution's path and marks: in the labels' words and as SVG classes", async () => {
    const retry = retryStateOf(firstStep);
    const path = [firstStep.action, firstStep.compensation, retry];
    const svg = await svgOf(toDot(definition, path, { [firstStep.compensation]: ['retried', 'failed'], [retry]: ['stuck', 'failed'] }));
    const nodes = [...svg.matchAll(/<g id="node\d+" class="([^"]*)">\s*<title>[^<]*<\/title>[\s\S]*?<text[^>]*>([^<]*)<\/text>/g)].map(
      ([, classes, name]) => [name, classes],
    );
    expect(nodes.filter(([, classes]) => classes !== 'node')).toEqual([
      [firstStep.action, 'node taken'],
      [firstStep.compensation, 'node taken retried failed'],
      [retry, 'node taken failed stuck'],
    ]);
    expect(svg).toContain('>retried, failed</text>');
    expect(svg).toContain('>failed, stuck</text>');
  });
});

describe('the point of no return', () => {
  // The order saga, and the trip and its example with a group each with its first step as the pivot.
  const shapes: Saga[] = [orderSaga, withPivotAt(tripSagaOfTwoStagesOrMore, 0), withPivotAt(tripParallelSaga, 0)];

  /** The states a Mermaid chart puts in a class, by name. */
  function classed(mermaid: string, name: string): string[] {
    const names = new Map([...mermaid.matchAll(/^\s+(\w+)(?:\[|\(\[|subgraph)"([^"<]+)/gm)].map(([, id, state]) => [id, state]));
    for (const [, id, state] of mermaid.matchAll(/^\s+subgraph (\w+)\["([^"<]+)/gm)) names.set(id as string, state as string);
    const line = mermaid.split('\n').find((candidate) => candidate.endsWith(` ${name}`) && candidate.trim().startsWith('class '));
    return (line?.trim().split(' ')[1]?.split(',') ?? []).map((id) => names.get(id) ?? id);
  }

  it.each(shapes.map((saga) => [saga.name, saga] as const))(
    '%s: the pivot labelled, and exactly its retriable steps’ states drawn past it, no compensation among them',
    (_, saga) => {
      const pivot = pivotOf(saga) as SagaStep;
      const drawn = toMermaid(renderSaga(saga, placeholderResources(saga)), diagramOptionsOf(saga));
      expect(drawn.split('\n').filter((line) => line.includes(POINT_OF_NO_RETURN))).toEqual([
        expect.stringContaining(`"${pivot.action}<br/>`),
      ]);
      expect(classed(drawn, 'pivot')).toEqual([pivot.action]);
      const forward = retriableStepsOf(saga).flatMap((step) => [step.action, alertStateOf(step), retryStateOf(step)]);
      expect(forward.length).toBeGreaterThan(0);
      expect(classed(drawn, 'forward').sort()).toEqual([...forward].sort());
      for (const step of compensatableStepsOf(saga)) expect(forward).not.toContain(step.compensation);
    },
  );

  it('draws nothing of the kind for a saga without a pivot: the trip’s chart is the same with or without its options', () => {
    expect(pivotOf(tripSaga)).toBeUndefined();
    expect(toMermaid(definition, diagramOptionsOf(tripSaga))).toBe(toMermaid(definition));
    expect(toDot(definition, [], {}, diagramOptionsOf(tripSaga))).toBe(toDot(definition));
  });

  it('outlines the pivot twice in Graphviz, with its words, and fills the states past it', async () => {
    const pivot = pivotOf(orderSaga) as SagaStep;
    const orderDefinition = renderSaga(orderSaga, placeholderResources(orderSaga));
    const dot = toDot(orderDefinition, [], {}, diagramOptionsOf(orderSaga));
    const lineOf = (state: string) => dot.split('\n').find((line) => line.includes(`label="${state}\\n`)) ?? '';
    expect(lineOf(pivot.action)).toContain('peripheries=2');
    expect(lineOf(pivot.action)).toContain(POINT_OF_NO_RETURN);
    for (const step of retriableStepsOf(orderSaga)) expect(lineOf(step.action)).toContain('fillcolor');
    for (const step of compensatableStepsOf(orderSaga)) expect(lineOf(step.compensation)).not.toContain('fillcolor');
    const svg = await svgOf(dot);
    expect(svg).toContain(`>${POINT_OF_NO_RETURN}</text>`);
  });
});
