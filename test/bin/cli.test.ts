import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  compensatableStepsOf,
  EXECUTION_ALREADY_EXISTS,
  isGroup,
  pivotOf,
  POINT_OF_NO_RETURN,
  placeholderResources,
  renderRollback,
  renderSaga,
  retriableStepsOf,
  type CompensatableStep,
  type StateMachineDefinition,
} from '../../asl/index.ts';
import orderSaga from '../../examples/order.ts';
import { MAX_DEPLOYED_STATE_NAME } from '../../infra/names.ts';
import { tripSaga } from '../../saga.ts';
import { errorLine, isFileError } from '../../bin/io.ts';
import { retryOf, task } from '../helpers/asl.ts';
import { saga } from '../helpers/cli.ts';
import {
  firstStep,
  groupOf,
  happyPathOf,
  lastStep,
  rollbackPathOf,
  sagaOfSizeModule,
  stageIndexOf,
  steps,
  tripSagaOfTwoStagesOrMore,
} from '../helpers/sagas.ts';
import { scratchDir, scratchFile } from '../helpers/scratch.ts';
import { projectStackSettings, shortestRefusedSize } from '../helpers/stacks.ts';
import devExpressTrip, { DEV_EXPRESS } from '../helpers/dev-express-trip.ts';

// jest: heavy (the saga command in its own process, command after command): test/sequencer.js starts it first on a fresh clone.

/** The trip as far as the dev-express stack deploys it (all of it while it fits Express). */
const DEV_EXPRESS_TRIP = fileURLToPath(new URL('../helpers/dev-express-trip.ts', import.meta.url));

const SAGA = fileURLToPath(new URL('../../bin/saga.js', import.meta.url));

/**
 * A step list module that changes the trip's: `change` is JavaScript over `trip`, its `steps` (every step, in order)
 * and `withFirstAction(name)` (the trip with its first step's action renamed, wherever that step stands).
 */
const tripChanged = (change: string): Promise<string> =>
  scratchFile(
    `import { stepsOf } from ${JSON.stringify(new URL('../../asl/saga.ts', import.meta.url).href)};\n` +
      `import trip from ${JSON.stringify(new URL('../../saga.ts', import.meta.url).href)};\n` +
      'const steps = stepsOf(trip);\n' +
      "const renamed = (action) => (stage) => 'parallel' in stage ? { ...stage, parallel: stage.parallel.map(renamed(action)) } : stage === steps[0] ? { ...stage, action } : stage;\n" +
      'const withFirstAction = (action) => ({ ...trip, steps: trip.steps.map(renamed(action)) });\n' +
      `export default ${change};\n`,
    'changed.mjs',
  );

describe('saga asl', () => {
  it('prints the rendered trip definition with placeholder ARNs', async () => {
    const { code, stdout } = await saga('asl');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(renderSaga(tripSaga, placeholderResources(tripSaga)));
  });

  it('takes the ARNs from a JSON file', async () => {
    const resources = placeholderResources(tripSaga, 'eu-west-1', '210987654321');
    const file = join(await scratchDir(), 'resources.json');
    await writeFile(file, JSON.stringify(resources));
    const { code, stdout } = await saga('asl', '--resources', file, '--compact');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual(renderSaga(tripSaga, resources));
  });

  it('--rollback prints the rollback machine, with the same ARNs', async () => {
    const resources = placeholderResources(tripSaga, 'eu-west-1', '210987654321');
    const { code, stdout } = await saga('asl', '--rollback', '--resources', await scratchFile(JSON.stringify(resources)));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(renderRollback(tripSaga, resources));
  });

  it.each([
    ['a missing file', async () => '/nonexistent/resources.json', /saga: cannot read \/nonexistent\/resources.json/],
    ['a file that is not JSON', async () => scratchFile('{ not json'), /is not valid JSON/],
  ])('refuses %s with exit 2 and a message', async (_, makeFile, message) => {
    const { code, stdout, stderr } = await saga('asl', '--resources', await makeFile());
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it.each([['{"functions": []}'], ['{"functions": {}, "alertTopic": 5}'], ['[]']])(
    'refuses ARNs of the wrong shape (%s) as invalid ARNs, exit 1, as malformed ones are',
    async (json) => {
      const { code, stderr } = await saga('asl', '--resources', await scratchFile(json));
      expect(code).toBe(1);
      expect(stderr).toMatch(/SagaResourcesError: .* must hold \{"functions"/s);
    },
  );

  it('refuses ARNs that are missing or malformed with exit 1, naming each', async () => {
    const file = await scratchFile(
      JSON.stringify({ functions: { [firstStep.action]: 'nope' }, alertTopic: 'arn:aws:sns:us-east-1:123456789012:t' }),
    );
    const { code, stderr } = await saga('asl', '--resources', file);
    expect(code).toBe(1);
    expect(stderr).toContain('SagaResourcesError');
    expect(stderr).toContain(`function ARN for state "${firstStep.action}" is not a Lambda function ARN: "nope"`);
    expect(stderr).toContain(`no function ARN given for state "${lastStep.compensation}"`);
  });
});

describe('saga validate', () => {
  it('accepts the trip saga', async () => {
    const { code, stdout } = await saga('validate');
    expect(code).toBe(0);
    // At the top level: a step's action, compensation, alert and retry, a group's two Parallel states, two endings.
    const states = tripSaga.steps.reduce((count, stage) => count + (isGroup(stage) ? 2 : 4), 2);
    expect(stdout).toContain(`✓ ${tripSaga.name} (${steps.length} steps): ${states} states, `);
    expect(stdout).toMatch(/ \d+ bytes — valid$/m);
  });

  it('checks a definition file and names each problem, exit 1', async () => {
    // The trip, with a step added to a trip of one, so that its first action goes on to another state.
    const definition = renderSaga(tripSagaOfTwoStagesOrMore, placeholderResources(tripSagaOfTwoStagesOrMore));
    // The first action goes nowhere: what it went to, the second, is then unreachable.
    const first = task(definition, firstStep.action);
    const broken = { ...definition, States: { ...definition.States, [firstStep.action]: { ...first, Next: 'Nowhere' } } };
    const { code, stderr } = await saga('validate', '--definition', await scratchFile(JSON.stringify(broken)));
    expect(code).toBe(1);
    expect(stderr).toContain(`state "${firstStep.action}" goes to "Nowhere", which is not a state`);
    expect(stderr).toContain(`state "${first.Next}" is unreachable from StartAt`);
  });
});

describe('saga validate refuses what a deployment would', () => {
  it(`an action name longer than ${MAX_DEPLOYED_STATE_NAME} characters, by name: its role's name would pass IAM's 64`, async () => {
    const long = `Book${'X'.repeat(MAX_DEPLOYED_STATE_NAME - 3)}`;
    const file = await tripChanged(`withFirstAction(${JSON.stringify(long)})`);
    const { code, stderr } = await saga('validate', '--saga', file);
    expect(code).toBe(1);
    expect(stderr).toContain('SagaDefinitionError');
    expect(stderr).toContain(`state "${long}" has ${MAX_DEPLOYED_STATE_NAME + 1} characters, over ${MAX_DEPLOYED_STATE_NAME}`);
    expect(stderr).toContain('IAM role name (64)');
    const fits = await tripChanged(`withFirstAction(${JSON.stringify(long.slice(1))})`);
    expect((await saga('validate', '--saga', fits)).code).toBe(0);
  });

  it('a saga name that is not printable ASCII, by name: it is in the SNS Subject of the alert', async () => {
    const file = await tripChanged("{ ...trip, name: 'VoyageÉté' }");
    const { code, stderr } = await saga('validate', '--saga', file);
    expect(code).toBe(1);
    expect(stderr).toContain('saga name "VoyageÉté" must be printable ASCII');
  });
});

describe('saga graph', () => {
  it('prints a Mermaid flowchart', async () => {
    const { code, stdout } = await saga('graph');
    expect(code).toBe(0);
    expect(stdout.startsWith('flowchart TD\n')).toBe(true);
  });

  it('writes an SVG picture', async () => {
    const file = join(await scratchDir(), 'saga.svg');
    const { code } = await saga('graph', '--format', 'svg', '--out', file);
    expect(code).toBe(0);
    expect(await readFile(file, 'utf8')).toContain(`>${lastStep.action}</text>`);
  });

  it('marks the pivot of a saga that has one as the point of no return, in every format', async () => {
    const pivot = pivotOf(orderSaga)?.action as string;
    const mermaid = await saga('graph', '--saga', 'examples/order.ts');
    expect(mermaid.stdout.split('\n').filter((line) => line.includes(POINT_OF_NO_RETURN))).toEqual([
      expect.stringContaining(`"${pivot}<br/>`),
    ]);
    const dot = await saga('graph', '--saga', 'examples/order.ts', '--format', 'dot', '--out', '-');
    expect(dot.stdout).toContain(`${POINT_OF_NO_RETURN}"`);
    expect((await saga('graph')).stdout).not.toContain(POINT_OF_NO_RETURN);
  });

  it('--out - writes to standard output, as Unix tools read it', async () => {
    const dir = await scratchDir();
    const { stdout } = await promisify(execFile)(process.execPath, [SAGA, 'graph', '--format', 'dot', '--out', '-'], { cwd: dir });
    expect(stdout.startsWith('digraph')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an unknown format with exit 2', async () => {
    const { code, stderr } = await saga('graph', '--format', 'png');
    expect(code).toBe(2);
    expect(stderr).toContain("argument 'png' is invalid");
  });
});

describe('saga cost', () => {
  it('prints transitions and prices per path, with the prices assumed', async () => {
    const { code, stdout } = await saga('cost');
    expect(code).toBe(0);
    const row = (path: string, transitions: number) => new RegExp(`\\| ${path} +\\| ${transitions} +\\| \\$${transitions * 25}\\.00 +\\|`);
    expect(stdout).toMatch(row('all steps succeed', happyPathOf().length));
    const group = groupOf(lastStep);
    const place = `step ${stageIndexOf(lastStep) + 1}${group === undefined ? '' : `, group ${group.name}`}`;
    expect(stdout).toMatch(row(`${lastStep.action} fails \\(${place}\\): roll back`, rollbackPathOf(lastStep).length));
    expect(stdout).toContain('Standard $0.025 per 1,000 state transitions');
  });

  it('refuses a bad --state-ms with exit 2', async () => {
    const { code, stderr } = await saga('cost', '--state-ms', 'fast');
    expect(code).toBe(2);
    expect(stderr).toContain('expected milliseconds above 0 and at most 900000');
  });
});

describe('the command line', () => {
  it('refuses an unknown command with exit 2', async () => {
    const { code, stderr } = await saga('deploy');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'deploy'");
  });

  it('refuses to run on a Node.js older than 22.18, saying why', async () => {
    const guard = fileURLToPath(new URL('../../bin/check-node.js', import.meta.url));
    const script = `Object.defineProperty(process.versions, 'node', { value: '20.20.2' }); await import(${JSON.stringify(guard)});`;
    const result = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]).catch((error) => error);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Node.js >= 22.18 is required');
  });
});

describe('--stack', () => {
  it('renders as the stack deploys it: Pulumi.dev.yaml bounds compensations at 3 retries', async () => {
    const { code, stdout } = await saga('asl', '--stack', 'dev');
    expect(code).toBe(0);
    const definition = JSON.parse(stdout) as StateMachineDefinition;
    expect(retryOf(task(definition, lastStep.compensation)).maxAttempts).toBe(3);
    expect(retryOf(task(definition, lastStep.action)).maxAttempts).toBe(3);
  });

  it('renders an EXPRESS stack’s saga with the hand-off of a stuck rollback to the rollback machine', async () => {
    const { code, stdout } = await saga('asl', '--stack', DEV_EXPRESS, '--saga', DEV_EXPRESS_TRIP);
    expect(code).toBe(0);
    const definition = JSON.parse(stdout) as StateMachineDefinition;
    const last = compensatableStepsOf(devExpressTrip).at(-1) as CompensatableStep;
    expect(task(definition, `Alert${last.compensation}`).Next).toBe(`HandOff${last.compensation}`);
    expect(task(definition, `HandOff${last.compensation}`).Parameters?.['StateMachineArn']).toMatch(/:stateMachine:\S+-rollback$/);
    // A hand-off rerun after the rollback machine closed its execution finds the name taken: handed off already.
    const handOff = task(definition, `HandOff${last.compensation}`);
    expect(handOff.Catch).toEqual([{ ErrorEquals: [EXECUTION_ALREADY_EXISTS], Next: handOff.Next, ResultPath: '$.handOff' }]);
  });

  it.each(['asl', 'cost', 'validate'])(
    'saga %s refuses, exit 1 and naming the settings, an EXPRESS configuration that the stack refuses',
    async (command) => {
      const settings = projectStackSettings(DEV_EXPRESS);
      const longer = await scratchFile(sagaOfSizeModule(shortestRefusedSize(settings)), 'longer.mjs');
      const { code, stdout, stderr } = await saga(command, '--stack', DEV_EXPRESS, '--saga', longer);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/StackSettingsError: an EXPRESS execution of \S+ can run \d+ s .*past Express's 300 s/);
      expect(stderr).toContain(`compensationMaxAttempts (now ${settings.compensationMaxAttempts})`);
      expect(stderr).toContain(`functionTimeoutSeconds (now ${settings.functionTimeoutSeconds})`);
    },
  );

  it.each(['asl', 'cost', 'validate'])(
    'saga %s refuses, exit 1, an EXPRESS stack of a saga with retriable steps, naming them: EXPRESS cannot redrive',
    async (command) => {
      const { code, stdout, stderr } = await saga(command, '--stack', 'dev-express', '--saga', 'examples/order.ts');
      expect(code).toBe(1);
      expect(stdout).toBe('');
      const names = retriableStepsOf(orderSaga).map((step) => step.name);
      expect(names.length).toBeGreaterThan(0);
      expect(stderr).toContain(`StackSettingsError: retriable step(s) ${names.join(', ')}: an EXPRESS state machine cannot be redriven`);
      expect(stderr).toContain('set stateMachineType to STANDARD');
    },
  );

  it('refuses a stack without a settings file, exit 2', async () => {
    const { code, stderr } = await saga('asl', '--stack', 'nowhere');
    expect(code).toBe(2);
    expect(stderr).toContain('Pulumi.nowhere.yaml');
  });
});

describe('errors a user meets', () => {
  it('are a name and a message; --debug adds the stack trace, accepted anywhere on the line', async () => {
    expect(errorLine(new RangeError('too deep'))).toBe('RangeError: too deep');
    expect(errorLine('a string')).toBe('an unexpected string was thrown: a string');
    const { code } = await saga('asl', '--debug');
    expect(code).toBe(0);
  });

  it('--debug adds the stack trace to a refusal too (a usage error, exit 2)', async () => {
    const plain = await saga('asl', '--stack', 'nowhere');
    const debugged = await saga('asl', '--stack', 'nowhere', '--debug');
    expect([plain.code, debugged.code]).toEqual([2, 2]);
    expect(plain.stderr).not.toMatch(/^\s+at /m);
    expect(debugged.stderr.startsWith(plain.stderr)).toBe(true);
    expect(debugged.stderr).toMatch(/^\s+at /m);
  });

  it('a reader that stops early (`saga tour | head`) ends the command quietly', async () => {
    const child = spawn(process.execPath, [SAGA, 'tour'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    // The first line read, the pipe is closed: every later write meets EPIPE.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect([code, stderr]).toEqual([0, '']);
  });

  it.each(['EPERM', 'EACCES', 'EROFS', 'ENOENT'])('a file system refusal (%s) is a file error, said without a trace', (code) => {
    expect(isFileError(Object.assign(new Error(`${code}: refused`), { code, syscall: 'mkdir' }))).toBe(true);
  });
});
