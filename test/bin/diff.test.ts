import { describe, expect, it } from '@jest/globals';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb.ts';
import { localStateMachineArn, saga, sagaWithEnv, startSaga } from '../helpers/cli.ts';
import { actionEntryOf, alertStateOf, compensationEntryOf, functionStatesOfStep, retryStateOf } from '../../asl/index.ts';
import {
  addedStep,
  bookingsOf,
  groupOf,
  TRIP_OF_TWO_STAGES_FILE,
  tripSagaOfTwoStagesOrMore,
  type CompensatableBooking,
} from '../helpers/sagas.ts';
import { scratchFile } from '../helpers/scratch.ts';

// `saga diff` as a user runs it before `pulumi up`: the step list against an earlier one, or an earlier definition.

const moduleUrl = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);

/** The step list the edits start from: the trip, of two stages at least (a trip of one step has no step to remove). */
const TRIP = TRIP_OF_TWO_STAGES_FILE;
const trip = tripSagaOfTwoStagesOrMore;
const lastStep = bookingsOf(trip).at(-1) as CompensatableBooking;

/**
 * A saga file that edits the trip's step list: `steps` and the rest as JavaScript expressions over `trip` and `last`
 * (the trip's last step, wherever it stands), with the helpers that edit a step list in place.
 */
const editedTrip = (fields: string) =>
  scratchFile(
    [
      `import trip from ${moduleUrl(`../../${TRIP}`)};`,
      `import { stepsOf } from ${moduleUrl('../../asl/index.ts')};`,
      `import { withoutStep, withStepChanged } from ${moduleUrl('../helpers/saga-shapes.ts')};`,
      `const last = stepsOf(trip).find((step) => step.name === ${JSON.stringify(lastStep.name)});`,
      `export default { ...trip, ${fields} };`,
      '',
    ].join('\n'),
    'edited.ts',
  );
const withoutLast = 'steps: withoutStep(last, trip).steps';
const retiredLast = `${withoutLast}, retired: [last]`;

/** The states removing the last step takes out: its own, and its group's when that is left with one step, which stands alone. */
const lastGroup = groupOf(lastStep, trip);
const statesRemovedWithLast = [
  ...functionStatesOfStep(lastStep),
  alertStateOf(lastStep),
  retryStateOf(lastStep),
  ...(lastGroup?.parallel.length === 2 ? [actionEntryOf(lastGroup), compensationEntryOf(lastGroup)] : []),
];

describe('saga diff --against FILE', () => {
  it('a step removed and not retired needs draining: its functions would be deleted; exit 1', async () => {
    const { code, stdout } = await saga('diff', '--saga', await editedTrip(withoutLast), '--against', TRIP);
    const [, count, removed = ''] = /States: (\d+) states removed \(([^)]*)\)/.exec(stdout) ?? [];
    expect(removed.split(', ').sort()).toEqual([...statesRemovedWithLast].sort());
    expect(Number(count)).toBe(statesRemovedWithLast.length);
    expect(stdout).toContain(
      `⚠ ${lastStep.name} removed and NOT retired: \`pulumi up\` deletes ${lastStep.action}, ${lastStep.compensation}`,
    );
    expect(stdout).toContain(`its table ${lastStep.table} leaves the stack but stays in DynamoDB (retainOnDelete)`);
    expect(stdout).toContain(`⚠ Needs draining: ${lastStep.action}, ${lastStep.compensation} would be deleted`);
    expect(code).toBe(1);
  });

  it('the same step removed and retired is safe at once: its resources are kept for the executions started before', async () => {
    const { code, stdout } = await saga('diff', '--saga', await editedTrip(retiredLast), '--against', TRIP);
    expect(stdout).toContain(
      `- ${lastStep.name} retired: out of the definition; its table ${lastStep.table}, functions ${lastStep.action}, ${lastStep.compensation}`,
    );
    expect(stdout).toContain(`Kept for them, retired: ${lastStep.action}, ${lastStep.compensation}.`);
    expect(stdout).toContain('Safe at once');
    expect(code).toBe(0);
  });

  it('retiring it for good later needs draining again, and says the table stays to delete by hand', async () => {
    const retired = await editedTrip(retiredLast);
    const { code, stdout } = await saga('diff', '--saga', await editedTrip(withoutLast), '--against', retired);
    expect(stdout).toContain(`✗ ${lastStep.name} retired for good`);
    expect(stdout).toContain('Needs draining');
    expect(code).toBe(1);
  });

  it('a step added, and steps reordered, are safe at once', async () => {
    const added = await saga('diff', '--saga', await editedTrip(`steps: [...trip.steps, ${JSON.stringify(addedStep)}]`), '--against', TRIP);
    expect(added.stdout).toContain(
      `+ ${addedStep.name}: new table ${addedStep.table}, functions ${addedStep.action}, ${addedStep.compensation}`,
    );
    expect(added.code).toBe(0);
    const reordered = await saga('diff', '--saga', await editedTrip('steps: [...trip.steps].reverse()'), '--against', TRIP);
    expect(reordered.stdout).toMatch(/↕ \S+ moved: executions started before keep the earlier order/);
    expect(reordered.code).toBe(0);
  });

  it('a step renamed keeps its table, and its earlier functions would be deleted', async () => {
    // A new name no step of the trip has: the last step's own, lengthened.
    const name = `${lastStep.name}Renamed`;
    const renamed = `steps: withStepChanged(last, { name: '${name}', action: 'Book${name}', compensation: 'Cancel${name}' }, trip).steps`;
    const { code, stdout } = await saga('diff', '--saga', await editedTrip(renamed), '--against', TRIP);
    expect(stdout).toContain(`~ ${lastStep.name} → ${name}: table ${lastStep.table} kept`);
    expect(code).toBe(1);
  });
});

describe('saga diff against an earlier definition', () => {
  it('--git HEAD: the step list as committed', async () => {
    // A file no one edits to try a step list (saga.ts may be, uncommitted): the same at HEAD as in the work tree.
    const { code, stdout } = await saga('diff', '--saga', TRIP, '--git', 'HEAD');
    expect(stdout).toContain('no step added, removed, renamed or moved');
    expect(code).toBe(0);
  });

  it('--definition FILE: a rendered definition, whose functions nothing deploys any more need draining', async () => {
    const { stdout: asl } = await saga('asl', '--saga', TRIP);
    const { code, stdout } = await saga('diff', '--saga', await editedTrip(withoutLast), '--definition', await scratchFile(asl));
    expect(stdout).toContain(`⚠ Needs draining: ${lastStep.action}, ${lastStep.compensation}`);
    expect(code).toBe(1);
  });

  it('--state-machine-arn: the definition a running state machine has (here saga local, through the SDK)', async () => {
    const server = startSaga('local', '--saga', TRIP, '--port', '0', '--dynamodb-port', '0');
    try {
      const [, endpoint = ''] = await server.waitFor(/Step Functions (http:\S+)/);
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_REGION: LOCAL_REGION,
      };
      const same = await sagaWithEnv(env, 'diff', '--saga', TRIP, '--state-machine-arn', localStateMachineArn, '--endpoint-url', endpoint);
      expect(same.stdout).toContain('States: no state changed.');
      expect(same.code).toBe(0);
      const retired = await sagaWithEnv(
        env,
        'diff',
        '--saga',
        await editedTrip(retiredLast),
        '--state-machine-arn',
        localStateMachineArn,
        '--endpoint-url',
        endpoint,
      );
      expect(retired.stdout).toContain(`the definition deployed at ${localStateMachineArn}`);
      expect(retired.stdout).toContain('Safe at once');
    } finally {
      server.child.kill('SIGINT');
      await server.exited;
    }
  });

  it('refuses to run without something to compare with, saying what it takes', async () => {
    const { code, stderr } = await saga('diff');
    expect(stderr).toContain('--against FILE, --git REVISION, --definition FILE, --stack NAME or --state-machine-arn ARN');
    expect(code).toBe(2);
  });
});
