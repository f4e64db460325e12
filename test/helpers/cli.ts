import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach } from '@jest/globals';
import { SFNClient } from '@aws-sdk/client-sfn';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb.ts';
import { tripSaga } from '../../saga.ts';

const SAGA = fileURLToPath(new URL('../../bin/saga.js', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `saga` command as a user would, in its own process. */
export const saga = (...args: string[]): Promise<Result> => sagaWithEnv(process.env, ...args);

/** Runs the `saga` command in its own process, with the environment given (e.g. another PATH). */
export async function sagaWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SAGA, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A `saga` command running in its own process, its standard output gathered as it comes. */
export interface SagaProcess {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  readonly output: () => string;
  /** Waits until the output matches, and returns the match; fails if the process ends first. */
  readonly waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  /** Its exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

/** Every `saga` process a test started that has not ended yet. */
const running = new Set<ChildProcess>();

/**
 * Ends what a test left running, pass or fail: a test that fails before its own kill must not leak a server (which
 * keeps Jest from exiting). A `saga` process starts no process of its own (but for `pulumi`, which ends by itself).
 */
async function killLeftovers(): Promise<void> {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(
    left.map((child) =>
      child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined,
    ),
  );
}
afterEach(killLeftovers);
afterAll(killLeftovers);

/** Starts the `saga` command without waiting for its end, to signal or kill it; it ends with the test at the latest. */
export function startSaga(...args: string[]): SagaProcess {
  return startSagaUnder([], ...args);
}

/** Starts the `saga` command under another (`unshare …`), which ends by running it in its own process. */
export function startSagaUnder(wrapper: readonly string[], ...args: string[]): SagaProcess {
  const [program = process.execPath, ...before] = [...wrapper, process.execPath];
  const child = spawn(program, [...before, SAGA, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const waiters = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve(code ?? (signal as NodeJS.Signals));
      for (const waiter of waiters) waiter();
    }),
  );
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          waiters.delete(check);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.delete(check);
          reject(new Error(`saga ${args.join(' ')} ended before printing ${pattern}:\n${output}`));
        }
      };
      waiters.add(check);
      check();
    });
  return { child, output: () => output, waitFor, exited };
}

/** The AWS SDK's client of the Step Functions endpoint that a `saga local` process serves, once it is up. */
export async function sfnOf(server: SagaProcess): Promise<SFNClient> {
  const [, endpoint] = await server.waitFor(/Step Functions (http:\S+)/);
  return new SFNClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: endpoint as string });
}

/** The ARN of the trip saga's state machine, served locally. */
export const localStateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${tripSaga.name}`;
