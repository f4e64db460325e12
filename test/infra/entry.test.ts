import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from '@jest/globals';

// Pulumi's Node.js language host imports the entry point of Pulumi.yaml with plain Node: no Jest, no transpiler
// (`typescript: false`). This does the same in a fresh process, with Pulumi's mocks in place of the engine.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('infra/main.js loads and runs under plain Node, its TypeScript stripped by Node itself', async () => {
  const script = `
    const { runProgram } = await import('./test/helpers/pulumi.ts');
    const { outputs, resources } = await runProgram({}, 'dev');
    console.log('stateMachineName=' + outputs.stateMachineName + ' resources=' + resources.length);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
  expect(stdout).toMatch(/^stateMachineName=saga-\w+ resources=4\d$/m);
}, 60_000);
