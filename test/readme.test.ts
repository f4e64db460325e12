import { readFileSync } from 'node:fs';
import { expect, it } from '@jest/globals';
import { placeholderResources, renderSaga, toMermaid } from '../asl/index.ts';
import { tripSaga } from '../saga.ts';

it('the README embeds the current diagram of the saga', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const embedded = /```mermaid\n([\s\S]*?)\n```/.exec(readme)?.[1];
  expect(embedded).toBe(toMermaid(renderSaga(tripSaga, placeholderResources(tripSaga))));
});
