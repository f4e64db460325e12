import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { expect, it } from '@jest/globals';
import { assertValidatorCurrent, generateValidatorSource, StaleValidatorError } from '../../functions/generate-validator.ts';
import { scratchFile } from '../helpers/scratch.ts';

// The commands that run the functions (saga run, resume, tour, local; npm run build) call this first.

it('passes with the committed validator', () => {
  expect(() => assertValidatorCurrent()).not.toThrow();
});

it('refuses a validator older than the trip schema, or missing, saying how to regenerate it', async () => {
  const stale = pathToFileURL(await scratchFile(generateValidatorSource().replace('"maxLength":200', '"maxLength":201'), 'v.js'));
  expect(() => assertValidatorCurrent(stale)).toThrow(StaleValidatorError);
  expect(() => assertValidatorCurrent(stale)).toThrow('run `npm run generate`');
  const missing = new URL('./none.js', stale);
  expect(() => assertValidatorCurrent(missing)).toThrow(StaleValidatorError);
  await writeFile(stale, generateValidatorSource());
  expect(() => assertValidatorCurrent(stale)).not.toThrow();
});
