import { readFileSync } from 'node:fs';
import { expect, it } from '@jest/globals';
import {
  GENERATED_TYPES,
  GENERATED_TYPES_SOURCE,
  GENERATED_VALIDATOR,
  generateValidatorSource,
} from '../../functions/generate-validator.ts';

it('the committed, ahead-of-time compiled validator matches the trip schema (else: npm run generate)', () => {
  expect(readFileSync(GENERATED_VALIDATOR, 'utf8')).toBe(generateValidatorSource());
  expect(readFileSync(GENERATED_TYPES, 'utf8')).toBe(GENERATED_TYPES_SOURCE);
});
