import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Journal } from '../../local/journal.ts';
import { DataDirInUseError, ExecutionNameError, LocalSaga, type Execution } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { tripSaga } from '../../saga.ts';
import { saga } from '../helpers/cli.ts';
import { steps } from '../helpers/sagas.ts';
import { scratchDir, scratchFile } from '../helpers/scratch.ts';
import { tripWithId } from '../helpers/trips.ts';

// A data folder survives any crash: a torn last record is dropped before anything is appended, an execution whose
// end record was torn is not run twice, a journal that cannot be read is set aside by name (its name free again, its
// bookings listed as orphans), and a lock of no live process is taken over.

const journalOf = (dataDir: string, name: string) => join(dataDir, 'executions', `${name}.jsonl`);

/** A data folder holding one execution of `name` run to its end, and its journal's text. */
async function folderWith(name: string, faults: Execution['input'] = {}): Promise<{ dataDir: string; text: string; execution: Execution }> {
  const dataDir = await scratchDir();
  const local = await LocalSaga.start({ saga: tripSaga, dataDir });
  try {
    const execution = await local.execute(tripWithId(name), { retryDelayMs: 0, faults: faults as never });
    return { dataDir, text: readFileSync(journalOf(dataDir, name), 'utf8'), execution };
  } finally {
    await local.close();
  }
}

/** Where each record of a journal's text starts and ends (its newline excluded), in bytes. */
function recordsOf(text: string): { start: number; end: number }[] {
  const bytes = Buffer.from(text);
  const records: { start: number; end: number }[] = [];
  let start = 0;
  for (let index = bytes.indexOf(10); index >= 0; index = bytes.indexOf(10, start)) {
    records.push({ start, end: index });
    start = index + 1;
  }
  return records;
}

const succeededEvents = (execution: Pick<Execution, 'history'>) => execution.history.filter((event) => event.type === 'ExecutionSucceeded');

describe('a torn last record', () => {
  it('is dropped at every byte of each of the last records, the file cut back to the record before it', async () => {
    const { dataDir, text } = await folderWith('torn');
    const bytes = Buffer.from(text);
    const records = recordsOf(text);
    // The end, the ExecutionSucceeded event, and the record before it.
    for (const [position, record] of records.slice(-3).entries()) {
      const kept = records.length - 3 + position;
      for (let cut = record.start; cut <= record.end; cut++) {
        // A new file each time, not the last one truncated: truncating a file just written has ext4 write it out
        // first (auto_da_alloc), which made this loop spend most of its time waiting on the disk.
        rmSync(journalOf(dataDir, 'torn'));
        writeFileSync(journalOf(dataDir, 'torn'), bytes.subarray(0, cut));
        const journal = Journal.open(dataDir);
        try {
          // Cut back to the last whole record (compared as bytes: Jest compares a Buffer element by element).
          const repaired = readFileSync(journalOf(dataDir, 'torn'));
          expect([cut, repaired.length, repaired.equals(bytes.subarray(0, record.start))]).toEqual([cut, record.start, true]);
          expect(journal.repaired).toEqual(
            cut === record.start
              ? []
              : [`executions/torn.jsonl: its last record was torn (${cut - record.start} bytes, a write cut short): dropped`],
          );
          expect(journal.quarantined).toEqual([]);
          const folded = journal.read('torn');
          // Every record before the torn one is read back: the end only when it is whole.
          expect(folded?.ended === undefined).toBe(kept < records.length);
        } finally {
          journal.release();
        }
      }
    }
  });

  it('of an execution that SUCCEEDED: it is ended as its history says, and not run again', async () => {
    for (const tornBytes of [1, 40]) {
      const { dataDir, text, execution } = await folderWith(`torn-end-${tornBytes}`);
      const name = execution.name;
      writeFileSync(journalOf(dataDir, name), Buffer.from(text).subarray(0, Buffer.byteLength(text) - tornBytes));
      const restarted = await LocalSaga.start({ saga: tripSaga, dataDir });
      try {
        expect(await restarted.dataFolderNotes()).toEqual([expect.stringMatching(/^Repaired executions\/.*: its last record was torn/)]);
        const [recovery] = restarted.continueInterrupted();
        expect(recovery?.report).toBe(`${name}: its end record was torn; its history says it ended SUCCEEDED: kept so, not run again`);
        const ended = (await recovery?.done) as Execution;
        expect(ended).toMatchObject({ status: 'SUCCEEDED', outcome: 'succeeded', output: execution.output, calls: execution.calls });
        expect(succeededEvents(ended)).toHaveLength(1);
      } finally {
        await restarted.close();
      }
      const again = await LocalSaga.start({ saga: tripSaga, dataDir });
      try {
        expect(again.continueInterrupted()).toEqual([]);
        expect(succeededEvents(again.savedExecution(name) as Execution)).toHaveLength(1);
      } finally {
        await again.close();
      }
    }
  });

  it('of an execution that SUCCEEDED, at the start of saga local: described as its history says, and not run again', async () => {
    const { dataDir, text, execution } = await folderWith('torn-end-served');
    const { name, executionArn } = execution;
    writeFileSync(journalOf(dataDir, name), Buffer.from(text).subarray(0, Buffer.byteLength(text) - 40));
    const restarted = await LocalSaga.start({ saga: tripSaga, dataDir });
    const reports: string[] = [];
    const server = await StepFunctionsServer.start(restarted, { retryDelayMs: 0, onRecovery: (report) => reports.push(report) });
    try {
      expect(reports).toEqual([`${name}: its end record was torn; its history says it ended SUCCEEDED: kept so, not run again`]);
      expect(await server.call('DescribeExecution', { executionArn })).toMatchObject({
        status: 'SUCCEEDED',
        output: JSON.stringify(execution.output),
      });
      const { events } = (await server.call('GetExecutionHistory', { executionArn })) as { events: Execution['history'] };
      expect(succeededEvents({ history: events })).toHaveLength(1);
      expect(events).toHaveLength(execution.history.length);
    } finally {
      await server.close();
      await restarted.close();
    }
  });

  it('saga run --data, three times after `truncate -s -40` of a SUCCEEDED journal: each succeeds, and it is not run again', async () => {
    const dataDir = await scratchDir();
    // Each its own trip: one trip is booked by one execution at a time.
    const run = async (name: string) =>
      saga('run', '--data', dataDir, '--input', await scratchFile(JSON.stringify(tripWithId(name))), '--name', name, '--retry-delay', '0');
    expect((await run('first')).code).toBe(0);
    const file = journalOf(dataDir, 'first');
    writeFileSync(file, readFileSync(file).subarray(0, -40));
    for (const name of ['second', 'third', 'fourth']) {
      const { code, stderr } = await run(name);
      expect([name, code, stderr]).toEqual([name, 0, '']);
    }
    const records = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; event?: { type: string } });
    expect(records.filter((record) => record.event?.type === 'ExecutionSucceeded')).toHaveLength(1);
    expect(records.filter((record) => record.type === 'end')).toHaveLength(1);
  }, 120_000);
});

describe('a journal that cannot be read', () => {
  const unreadable: Readonly<Record<string, string>> = {
    ghost: '',
    nothing: 'null\n',
    garbage: '\u0000\u0001garbage\n',
    headless: '{"type":"event","event":{}}\n',
  };

  it('is set aside by name, its name free again; the bookings of its execution are listed as orphans', async () => {
    const { dataDir, execution } = await folderWith('orphaned');
    // A SUCCEEDED execution holds a booking in every table; its journal is then damaged mid-file.
    const [start, , third] = readFileSync(journalOf(dataDir, 'orphaned'), 'utf8').split('\n');
    writeFileSync(journalOf(dataDir, 'orphaned'), `${start}\n{"type":\n${third}\n`);
    for (const [name, text] of Object.entries(unreadable)) writeFileSync(journalOf(dataDir, name), text);

    const local = await LocalSaga.start({ saga: tripSaga, dataDir });
    const server = await StepFunctionsServer.start(local, { retryDelayMs: 0 });
    try {
      const notes = await local.dataFolderNotes();
      for (const name of [...Object.keys(unreadable), 'orphaned'])
        expect(notes).toContainEqual(
          expect.stringMatching(new RegExp(`^Set aside executions/${name}\\.jsonl, .*: now quarantined/${name}\\.jsonl\\.`)),
        );
      expect(notes).toContainEqual(
        expect.stringContaining('Set aside executions/orphaned.jsonl, which is not a journal: line 2 is not JSON'),
      );
      // Its bookings, each table's, under the trip id: orphans to clean by hand.
      for (const step of steps) expect(notes).toContainEqual(`    ${step.table} ${tripSaga.keyField}=${execution.name}`);
      expect(readdirSync(join(dataDir, 'quarantined'))).toHaveLength(Object.keys(unreadable).length + 1);
      // Each name is free again: the server starts it, and the run ends.
      for (const name of Object.keys(unreadable)) {
        const { executionArn } = (await server.call('StartExecution', {
          stateMachineArn: local.stateMachineArn,
          name,
          input: JSON.stringify(tripWithId(name)),
        })) as { executionArn: string };
        expect(executionArn).toBe(local.executionArnOf(name));
      }
    } finally {
      await server.close();
      await local.close();
    }
  });

  it('a start that is refused leaves no journal behind', async () => {
    const dataDir = await scratchDir();
    const local = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      expect(() => local.begin(tripWithId('unnamed'), { name: 'x\ud800y' })).toThrow(ExecutionNameError);
      expect(readdirSync(join(dataDir, 'executions'))).toEqual([]);
    } finally {
      await local.close();
    }
  });
});

describe('names the file system would conflate', () => {
  it('are refused by name: lone surrogates (AWS refuses them too), and names equal but for case or normalisation', async () => {
    const dataDir = await scratchDir();
    const local = await LocalSaga.start({ saga: tripSaga, dataDir });
    const server = await StepFunctionsServer.start(local, { retryDelayMs: 0 });
    const start = (name: string) =>
      server.call('StartExecution', { stateMachineArn: local.stateMachineArn, name, input: JSON.stringify(tripWithId(name)) });
    try {
      await expect(start('x\ud800y')).rejects.toMatchObject({ type: 'InvalidName' });
      await expect(start('x\udc00y')).rejects.toMatchObject({ type: 'InvalidName' });
      await expect(start('x\ufffdy')).resolves.toBeDefined();
      await expect(start('Trip-Case')).resolves.toBeDefined();
      await expect(start('trip-case')).rejects.toMatchObject({
        type: 'ExecutionAlreadyExists',
        message: expect.stringContaining('"Trip-Case"'),
      });
      // é composed and decomposed: one name to a file system that normalises.
      await expect(start('caf\u00e9')).resolves.toBeDefined();
      await expect(start('cafe\u0301')).rejects.toMatchObject({ type: 'ExecutionAlreadyExists' });
      expect(existsSync(journalOf(dataDir, 'trip-case'))).toBe(false);
    } finally {
      await server.close();
      await local.close();
    }
  });
});

describe('a lock of no live process', () => {
  /** The pid of a process that has ended. */
  const deadPid = (): number => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(child.stdout);
  };

  it.each([
    ['empty (a crash between creating and writing it)', () => '', /its lock file was empty/],
    ['garbled', () => 'not a pid', /its lock file held no pid/],
    ['of a process that has ended', () => String(deadPid()), /the process that held it \(pid \d+\) is gone/],
  ])('%s is taken over, and the start says so', async (_, content, announced) => {
    const dataDir = await scratchDir();
    writeFileSync(join(dataDir, 'saga.lock'), content());
    const local = await LocalSaga.start({ saga: tripSaga, dataDir });
    try {
      expect(await local.dataFolderNotes()).toEqual([expect.stringMatching(announced)]);
      expect(readFileSync(join(dataDir, 'saga.lock'), 'utf8')).toBe(String(process.pid));
    } finally {
      await local.close();
    }
  });

  it('a lock of a live process is respected', async () => {
    const dataDir = await scratchDir();
    writeFileSync(join(dataDir, 'saga.lock'), String(process.ppid));
    await expect(LocalSaga.start({ saga: tripSaga, dataDir })).rejects.toBeInstanceOf(DataDirInUseError);
  });
});
