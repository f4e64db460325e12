import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from '@jest/globals';
import { functionStatesOf, stepsOf } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';

// Pulumi's Node.js language host imports the entry point of Pulumi.yaml with plain Node: no Jest, no transpiler
// (`typescript: false`). This does the same in a fresh process, with Pulumi's mocks in place of the engine.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('infra/main.js loads and runs under plain Node, its TypeScript stripped by Node itself', async () => {
  const script = `
    const { runProgram } = await import('./test/helpers/pulumi.ts');
    const { outputs, resources } = await runProgram({}, 'dev');
    const count = (type) => resources.filter((resource) => resource.type === type).length;
    console.log('stateMachineName=' + outputs.stateMachineName + ' tables=' + count('aws:dynamodb/table:Table') +
      ' functions=' + count('aws:lambda/function:Function'));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  // Counted from the step list, so that adding or removing a step changes nothing here.
  expect(stdout).toMatch(
    new RegExp(`^stateMachineName=saga-\\w+ tables=${stepsOf(tripSaga).length} functions=${functionStatesOf(tripSaga).length}$`, 'm'),
  );
}, 60_000);
