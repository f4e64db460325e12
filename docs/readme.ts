import { fileURLToPath } from 'node:url';
import { costTable, diagramOptionsOf, placeholderResources, renderSaga, toMermaid, type Saga } from '../asl/index.ts';
import { loadSaga } from '../bin/saga-module.ts';

// The README's generated parts: the diagrams and cost tables of the trip's step list, of the example with a group and
// of the example with a pivot.
// `npx saga graph --readme` rewrites them; test/readme.test.ts checks that they are current.

/** What one attempt of a state is assumed to take, for Express duration pricing. */
export const DEFAULT_STATE_MS = 100;

/** The example step list with a group, which the README draws and prices beside the trip's. */
export const PARALLEL_EXAMPLE = 'examples/trip-parallel.ts';
/** The example with a pivot and a retriable step, which the README draws and prices where it explains them. */
export const PIVOT_EXAMPLE = 'examples/order.ts';

export interface ReadmePart {
  /** The text just before the part, which finds it. */
  readonly intro: string;
  /** The part as the README holds it. */
  readonly text: string;
}

const mermaid = (saga: Saga): string =>
  `\`\`\`mermaid\n${toMermaid(renderSaga(saga, placeholderResources(saga)), diagramOptionsOf(saga))}\n\`\`\`\n`;
const costs = (saga: Saga): string => `${costTable(saga, renderSaga(saga, placeholderResources(saga)), DEFAULT_STATE_MS).join('\n')}\n`;

export async function readmeParts(): Promise<ReadmePart[]> {
  const trip = await loadSaga(undefined);
  const example = await loadSaga(fileURLToPath(new URL(`../${PARALLEL_EXAMPLE}`, import.meta.url)));
  const pivoted = await loadSaga(fileURLToPath(new URL(`../${PIVOT_EXAMPLE}`, import.meta.url)));
  return [
    { intro: '## The state machine\n\n', text: mermaid(trip) },
    { intro: '`npx saga cost` for the trip:\n\n', text: costs(trip) },
    { intro: `\`npx saga graph --saga ${PARALLEL_EXAMPLE}\` draws:\n\n`, text: mermaid(example) },
    { intro: `\`npx saga cost --saga ${PARALLEL_EXAMPLE}\`:\n\n`, text: costs(example) },
    { intro: `\`npx saga graph --saga ${PIVOT_EXAMPLE}\` draws:\n\n`, text: mermaid(pivoted) },
    { intro: `\`npx saga cost --saga ${PIVOT_EXAMPLE}\`:\n\n`, text: costs(pivoted) },
  ];
}

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a part stands in the README: its intro, then a Mermaid block or a table. */
export const partPattern = (part: ReadmePart): RegExp =>
  new RegExp(`${escaped(part.intro)}${part.text.startsWith('```') ? '```mermaid\\n[\\s\\S]*?\\n```\\n' : '(?:\\|[^\\n]*\\n)+'}`);
