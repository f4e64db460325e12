import { readFileSync } from 'node:fs';
import { expect, it } from '@jest/globals';
import { partPattern, readmeParts } from '../docs/readme.ts';

// The README's generated parts follow the step lists (the trip's, and the example with a group): `npx saga graph
// --readme` rewrites them all.

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

it.each((await readmeParts()).map((part) => [part.intro.trim(), part] as const))(
  'the README embeds the current part after %s',
  (_, part) => {
    expect(readme.match(partPattern(part))?.[0]).toBe(`${part.intro}${part.text}`);
  },
);
