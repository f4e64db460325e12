import { describe, expect, it } from '@jest/globals';
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import { edgesOfDefinition, placeholderResources, renderSaga, toDot, toMermaid } from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { addedStep, tripSagaWithAddedStep } from '../helpers/sagas.ts';

const definition = renderSaga(tripSaga, placeholderResources(tripSaga));

describe('toMermaid', () => {
  const mermaid = toMermaid(definition);

  it('pins the trip flowchart', () => {
    expect(mermaid).toMatchSnapshot();
  });

  it('draws every state once and every edge of the definition, plus the success ending', () => {
    const lines = mermaid.split('\n');
    for (const name of Object.keys(definition.States)) {
      expect(lines.filter((line) => line.includes(`"${name}`))).toHaveLength(1);
    }
    const arrows = lines.filter((line) => line.includes('-->') || line.includes('-.->'));
    expect(arrows).toHaveLength(edgesOfDefinition(definition).length + 1);
  });

  it('labels catchers with what they catch and marks retries', () => {
    expect(mermaid).toContain('-.->|"TripInvalid"|');
    expect(mermaid).toContain('["BookHotel<br/>retry transient ×3"]');
    expect(mermaid).toContain('["CancelHotel<br/>retry ×5"]');
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
});
