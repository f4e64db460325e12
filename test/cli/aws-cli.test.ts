import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from '@jest/globals';
import type { SagaStep } from '../../asl/saga.ts';
import { compensatedWhen, lastStep, previousStep, steps } from '../helpers/sagas.ts';

// jest: heavy (about twenty calls of the AWS CLI, each starting Python): test/sequencer.js starts it first on a fresh clone.
// The offline walkthrough with the real AWS CLI v2 (test/cli/aws-cli-walkthrough.sh). `.ci/run` installs it when
// missing and sets SAGA_REQUIRE_AWS_CLI, so CI never skips this; elsewhere it runs when an AWS CLI v2 is found.

const SCRIPT = fileURLToPath(new URL('./aws-cli-walkthrough.sh', import.meta.url));

const tablesWhere = (test: (step: SagaStep) => boolean): string =>
  steps
    .filter(test)
    .map((step) => step.table)
    .join(' ');

/** What the walkthrough checks, named from the step list: the script names no step of the trip. */
const STEP_LIST = {
  TABLES: steps.map((step) => step.table).join(' '),
  // The step before the last fails: the rollback undoes its entry of the step list and every earlier one, and never
  // reaches those after it.
  ROLLBACK_FAIL: previousStep.action,
  CANCELLED_TABLES: tablesWhere((step) => compensatedWhen(previousStep, step)),
  UNTOUCHED_TABLES: tablesWhere((step) => !compensatedWhen(previousStep, step)),
  LAST_ACTION: lastStep.action,
};

/** The first AWS CLI v2 on the PATH (an older v1 may come first). */
async function awsCliV2(): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const candidate = join(dir, 'aws');
    try {
      accessSync(candidate, constants.X_OK);
      const { stdout, stderr } = await promisify(execFile)(candidate, ['--version']);
      if (`${stdout}${stderr}`.startsWith('aws-cli/2')) return candidate;
    } catch {
      // not there, or not runnable: look further
    }
  }
  return undefined;
}

const aws = await awsCliV2();
const required = process.env['SAGA_REQUIRE_AWS_CLI'] === '1';

it('finds an AWS CLI v2 where CI requires one', () => {
  if (required) expect(aws).toBeDefined();
});

(aws ? it : it.skip)(
  'drives the saga offline with the AWS CLI: a trip, a rollback, the tables, a refused name',
  async () => {
    const { stdout } = await promisify(execFile)('bash', [SCRIPT], { env: { ...process.env, ...STEP_LIST, AWS: aws as string } });
    expect(stdout.trim().split('\n').at(-1)).toBe('walkthrough ok');
  },
  180_000,
);
