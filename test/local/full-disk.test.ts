import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  DescribeExecutionCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { localClient } from '../../local/dynamodb.ts';
import { tripSaga } from '../../saga.ts';
import { localStateMachineArn, sfnOf, startSagaUnder, type SagaProcess } from '../helpers/cli.ts';
import { firstStep, lastStep } from '../helpers/sagas.ts';
import { scratchDir } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';

// `saga local --data` on a full disk: a small tmpfs of its own (a mount namespace, `unshare -rm`), which the test fills
// through /proc/<pid>/root. A start that cannot be kept is refused and leaves nothing; an execution whose journal
// cannot be written fails, named, with its bookings said; DynamoDB answers InternalServerError; the process stays up.

const TMPFS_SIZE = '1m';
/** tmpfs allocates a file's bytes by pages. */
const PAGE = 4096;
const pagesOf = (bytes: number): number => Math.ceil(bytes / PAGE);

/** Whether this machine lets a process mount a tmpfs of its own (user and mount namespaces). */
function tmpfsAllowed(dir: string): boolean {
  return spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs tmpfs "$0"', dir]).status === 0;
}

let mount: string;
let allowed = false;
let server: SagaProcess | undefined;
let sfn: SFNClient;
let dynamodbEndpoint: string;

beforeAll(async () => {
  allowed = tmpfsAllowed(await scratchDir());
  if (!allowed) console.warn('test/local/full-disk.test.ts: this machine allows no tmpfs of a process its own (unshare -rm): skipped');
});

/** A `saga local --data` on a fresh tmpfs of its own; it ends with the test (test/helpers/cli.ts). */
beforeEach(async () => {
  if (!allowed) return;
  mount = await scratchDir();
  server = startSagaUnder(
    ['unshare', '-rm', 'sh', '-c', `mount -t tmpfs -o size=${TMPFS_SIZE} tmpfs "$0" && exec "$@"`, mount],
    'local',
    '--data',
    join(mount, 'data'),
    ...'--port 0 --dynamodb-port 0 --retry-delay 0'.split(' '),
  );
  sfn = await sfnOf(server);
  dynamodbEndpoint = (await server.waitFor(/DynamoDB +(http:\S+)/))[1] as string;
});

/** A path inside the saga's tmpfs, as this process reaches it. */
const inside = (...parts: string[]) => join(`/proc/${server?.child.pid}/root`, mount, ...parts);
const FILLER = 'filler';

/** Fills the tmpfs, then frees `leaveBytes` of it. */
function fill(leaveBytes = 0): void {
  try {
    writeFileSync(inside(FILLER), Buffer.alloc(4 * 1024 * 1024));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  if (leaveBytes > 0) truncateSync(inside(FILLER), Math.max(0, statSync(inside(FILLER)).size - leaveBytes));
}
const free = () => rmSync(inside(FILLER), { force: true });

const start = (name: string, trip = tripWithId(name)) =>
  sfn.send(new StartExecutionCommand({ stateMachineArn: localStateMachineArn, name, input: JSON.stringify(trip) }));
const describeExecution = (name: string) =>
  sfn.send(new DescribeExecutionCommand({ executionArn: localStateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}` }));

async function ended(name: string) {
  for (;;) {
    const described = await describeExecution(name);
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stillServing(): Promise<void> {
  await expect(sfn.send(new ListStateMachinesCommand({}))).resolves.toBeDefined();
}

describe('a full disk', () => {
  it('refuses a start it cannot keep, leaving no journal: once space is freed, the name starts', async () => {
    if (!allowed) return;
    fill();
    try {
      await expect(start('no-room')).rejects.toMatchObject({ name: 'ServiceUnavailable', message: expect.stringContaining('ENOSPC') });
      expect(existsSync(inside('data', 'executions', 'no-room.jsonl'))).toBe(false);
      await stillServing();
    } finally {
      free();
    }
    await start('no-room');
    expect(await ended('no-room')).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('fails an execution whose journal it cannot write, naming the error and its bookings; the process stays up', async () => {
    if (!allowed) return;
    // Room for a start record and half a run, as an earlier run of the same saga measures them, in the pages tmpfs
    // allocates (a short step list's whole run may take only a page more than its start record).
    await start('measured');
    await ended('measured');
    const [startRecord = ''] = readFileSync(inside('data', 'executions', 'measured.jsonl'), 'utf8').split('\n');
    const startPages = pagesOf(Buffer.byteLength(startRecord));
    const wholePages = pagesOf(statSync(inside('data', 'executions', 'measured.jsonl')).size);
    expect(wholePages).toBeGreaterThan(startPages);
    fill((startPages + Math.floor((wholePages - startPages) / 2)) * PAGE);
    try {
      await start('filling');
      const described = await ended('filling');
      expect(described).toMatchObject({ status: 'FAILED', error: 'JournalWriteFailed' });
      expect(described.cause).toMatch(
        /^cannot write executions\/filling\.jsonl: ENOSPC: stopped in \S+ rather than run on unjournaled; still booked by it: /,
      );
      await stillServing();
    } finally {
      free();
    }
    // Nothing torn is left in it: the next start of the folder reads it whole (the journal is checked by the repair).
    const lines = readFileSync(inside('data', 'executions', 'filling.jsonl'), 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('refuses a redrive it cannot keep', async () => {
    if (!allowed) return;
    await start('to-redrive', tripWithId('to-redrive', { fail: [lastStep.action, firstStep.compensation] }));
    expect(await ended('to-redrive')).toMatchObject({ status: 'FAILED', redriveStatus: 'REDRIVABLE' });
    // A full file system still takes an append that fits in a file's last page: blank lines (which a journal may
    // hold) fill the journal's, so that the redrive's record needs one more.
    const journal = inside('data', 'executions', 'to-redrive.jsonl');
    appendFileSync(journal, '\n'.repeat(PAGE - (statSync(journal).size % PAGE)));
    fill();
    try {
      await expect(
        sfn.send(
          new RedriveExecutionCommand({ executionArn: localStateMachineArn.replace(':stateMachine:', ':execution:') + ':to-redrive' }),
        ),
      ).rejects.toMatchObject({ name: 'ServiceUnavailable' });
      expect(await describeExecution('to-redrive')).toMatchObject({ status: 'FAILED', redriveCount: 0 });
    } finally {
      free();
    }
  });

  it('DynamoDB answers InternalServerError when its store cannot be written, and stays up', async () => {
    if (!allowed) return;
    const client = localClient(dynamodbEndpoint, { maxAttempts: 1 });
    fill();
    try {
      const pad = 'x'.repeat(300 * 1024);
      let refused: unknown;
      for (let index = 0; index < 20 && refused === undefined; index++) {
        await client
          .send(new PutCommand({ TableName: firstStep.table, Item: { [tripSaga.keyField]: `pad-${index}`, pad } }))
          .catch((error: unknown) => (refused = error));
      }
      expect(refused).toMatchObject({ name: 'InternalServerError' });
      await stillServing();
    } finally {
      free();
      client.destroy();
    }
  });
});
