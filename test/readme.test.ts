import { readFileSync } from 'node:fs';
import { expect, it } from '@jest/globals';
import { costTable, placeholderResources, renderSaga, toMermaid } from '../asl/index.ts';
import { tripSaga } from '../saga.ts';

// The README's generated parts follow the step list: `npx saga graph --readme` rewrites both.

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const definition = renderSaga(tripSaga, placeholderResources(tripSaga));

it('the README embeds the current diagram of the saga', () => {
  const embedded = /```mermaid\n([\s\S]*?)\n```/.exec(readme)?.[1];
  expect(embedded).toBe(toMermaid(definition));
});

it('the README embeds the current cost table of the saga', () => {
  const embedded = /`npx saga cost` for the trip:\n\n((?:\|[^\n]*\n)+)/.exec(readme)?.[1];
  expect(embedded).toBe(`${costTable(tripSaga, definition, 100).join('\n')}\n`);
});
