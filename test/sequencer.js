import { readFileSync } from 'node:fs';
import TestSequencer from '@jest/test-sequencer';

/** The line that marks a test file of tens of seconds (a property over hundreds of runs, processes started and killed). */
const HEAVY = /^\/\/ jest: heavy\b/m;

/**
 * Jest starts the files that took longest in its last run first, so that no worker is left with a long one at the
 * end; a fresh clone (CI's) has no such times, and Jest falls back on file size, which starts some of the longest
 * files last (a property test is a short file). There, the files marked heavy start first.
 */
export default class HeavyFirst extends TestSequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.every((test) => test.duration !== undefined)) return sorted;
    const heavy = sorted.filter((test) => test.duration === undefined && HEAVY.test(readFileSync(test.path, 'utf8')));
    return [...heavy, ...sorted.filter((test) => !heavy.includes(test))];
  }
}
