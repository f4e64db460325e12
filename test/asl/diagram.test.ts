import { describe, expect, it } from '@jest/globals';
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { edgesOfDefinition, placeholderResources, renderSaga, retryStateOf, svgOf, toDot, toMermaid } from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { graphsOf } from '../helpers/asl.ts';
import { addedStep, firstStep, tripSagaWithAddedStep } from '../helpers/sagas.ts';

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
