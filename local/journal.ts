import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEvent } from './history.ts';
import type { PinnedDefinition } from './pinned.ts';
import { statesEntered } from './redrive.ts';
import type { Alert, Execution } from './runtime.ts';

// The durable record of executions in a data folder (--data): one write-ahead journal per execution,
// executions/<name>.jsonl, one JSON record a line. An execution is accepted once its start record is written;
// then every history event, function call, alert and redrive is appended as it happens, and an end record when
// a run ends. Folding a journal gives the execution back: ended, or interrupted (no end record after its last
// start or redrive) and to be continued.
//
// Each record is one write(2) to a file opened O_APPEND: once it returns, the kernel holds the line, and a
// process killed at any moment (SIGKILL included) loses nothing written. There is no fsync: a power loss may
// lose the last records (measured in the README).

/** One run of an execution: its first, or a redrive. */
export interface ExecutionRun {
  readonly name: string;
  readonly executionArn: string;
  /** The execution's input: `$$.Execution.Input`, in a redrive too. */
  readonly input: unknown;
  readonly startDate: Date;
  readonly redriveCount: number;
  readonly redriveDate?: Date;
  /**
   * The definition it runs on, and the step list it was rendered from, kept with its start: absent only from a
   * journal written before executions kept theirs.
   */
  readonly pinned?: PinnedDefinition;
}

/** How a run ended: what an Execution has beyond its run and its history. */
export type Ending = Pick<Execution, 'status' | 'outcome' | 'error' | 'cause' | 'output' | 'stopDate'>;

type JournalRecord =
  | {
      readonly type: 'start';
      readonly name: string;
      readonly executionArn: string;
      readonly input: unknown;
      readonly startDate: string;
      /** Once per execution, in the record that accepts it: the journal is whole whenever it can be read at all. */
      readonly pinned?: PinnedDefinition;
    }
  | { readonly type: 'event'; readonly event: HistoryEvent }
  | { readonly type: 'call'; readonly state: string }
  | { readonly type: 'alert'; readonly alert: Alert }
  | { readonly type: 'redrive'; readonly redriveCount: number; readonly redriveDate: string }
  | { readonly type: 'end'; readonly ending: Ending };

/** An execution as its journal has it: ended, or interrupted (`ended` absent) with what it did so far. */
export interface Kept {
  readonly run: ExecutionRun;
  readonly history: readonly HistoryEvent[];
  readonly alerts: readonly Alert[];
  readonly calls: Readonly<Record<string, number>>;
  readonly ended?: Execution;
}

/** The journal's name for an execution of this name is taken: a STANDARD machine never runs a name twice. */
export class JournalExistsError extends Error {
  override readonly name = 'JournalExistsError';
}

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

const LOCK_FILE = 'saga.lock';
const SUFFIX = '.jsonl';

/** Appends the records of one execution's runs to its journal. */
export class JournalWriter {
  readonly #fd: number;

  constructor(fd: number) {
    this.#fd = fd;
  }

  #append(record: JournalRecord): void {
    writeSync(this.#fd, `${JSON.stringify(record)}\n`);
  }

  event(event: HistoryEvent): void {
    this.#append({ type: 'event', event });
  }

  call(state: string): void {
    this.#append({ type: 'call', state });
  }

  alert(alert: Alert): void {
    this.#append({ type: 'alert', alert });
  }

  redrive(redriveCount: number, redriveDate: Date): void {
    this.#append({ type: 'redrive', redriveCount, redriveDate: redriveDate.toISOString() });
  }

  /** The run's end, and the journal closed: a later redrive reopens it. */
  end(ending: Ending): void {
    this.#append({ type: 'end', ending });
    this.close();
  }

  /** Closes without an end record: the run was interrupted, and is continued at the next start. */
  close(): void {
    closeSync(this.#fd);
  }
}

const date = (value: unknown): Date => new Date(value as string);

/** The executions of a data folder, which this process holds locked while it is open. */
export class Journal {
  readonly #dir: string;
  readonly #dataDir: string;
  /** The pid of a process gone without releasing the folder, when this one took it over. */
  readonly staleLockOf: number | undefined;

  private constructor(dataDir: string, staleLockOf: number | undefined) {
    this.#dataDir = dataDir;
    this.#dir = join(dataDir, 'executions');
    this.staleLockOf = staleLockOf;
  }

  static open(dataDir: string): Journal {
    mkdirSync(join(dataDir, 'executions'), { recursive: true });
    return new Journal(dataDir, lockDataDir(dataDir));
  }

  /** The journal of another state machine kept inside this folder, under its lock. */
  within(dir: string): Journal {
    mkdirSync(join(this.#dataDir, dir, 'executions'), { recursive: true });
    return new Journal(join(this.#dataDir, dir), undefined);
  }

  #path(key: string): string {
    return join(this.#dir, `${key}${SUFFIX}`);
  }

  /**
   * Accepts an execution: its start record is on disk when this returns. `key` names the journal (the
   * execution's name on a STANDARD machine): an existing one is refused, atomically (O_EXCL).
   */
  begin(key: string, run: ExecutionRun): JournalWriter {
    let fd: number;
    try {
      fd = openSync(this.#path(key), 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new JournalExistsError(`an execution named "${run.name}" is already kept`);
      throw error;
    }
    const { name, executionArn, input, startDate, pinned } = run;
    const start: JournalRecord = {
      type: 'start',
      name,
      executionArn,
      input,
      startDate: startDate.toISOString(),
      ...(pinned ? { pinned } : {}),
    };
    writeSync(fd, `${JSON.stringify(start)}\n`);
    return new JournalWriter(fd);
  }

  /** Appends to the journal of a kept execution: a redrive, or the continuation of an interrupted run. */
  reopen(key: string): JournalWriter {
    return new JournalWriter(openSync(this.#path(key), 'a'));
  }

  /** Folds the journal of an execution, or undefined when there is none. */
  read(key: string): Kept | undefined {
    let text: string;
    try {
      text = readFileSync(this.#path(key), 'utf8');
    } catch {
      return undefined;
    }
    return fold(text);
  }

  /** Every execution kept in the folder. */
  readAll(): Kept[] {
    return readdirSync(this.#dir)
      .filter((file) => file.endsWith(SUFFIX))
      .flatMap((file) => this.read(file.slice(0, -SUFFIX.length)) ?? []);
  }

  /** Lets another process open the folder. */
  release(): void {
    rmSync(join(this.#dataDir, LOCK_FILE), { force: true });
  }
}

/** The records of a journal, in order, as an execution. */
function fold(text: string): Kept | undefined {
  const lines = text.split('\n');
  let run: ExecutionRun | undefined;
  const history: HistoryEvent[] = [];
  const alerts: Alert[] = [];
  const calls: Record<string, number> = {};
  let ending: Ending | undefined;
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch (error) {
      // Only the last line can be torn (a write cut short by the end of the process): what it held was not yet done.
      if (index >= lines.length - 2) break;
      throw error;
    }
    switch (record.type) {
      case 'start':
        run = {
          name: record.name,
          executionArn: record.executionArn,
          input: record.input,
          startDate: date(record.startDate),
          redriveCount: 0,
          ...(record.pinned ? { pinned: record.pinned } : {}),
        };
        break;
      case 'event':
        history.push({ ...record.event, timestamp: date(record.event.timestamp) });
        break;
      case 'call':
        calls[record.state] = (calls[record.state] ?? 0) + 1;
        break;
      case 'alert':
        alerts.push(record.alert);
        break;
      case 'redrive':
        if (run) run = { ...run, redriveCount: record.redriveCount, redriveDate: date(record.redriveDate) };
        ending = undefined;
        break;
      case 'end':
        ending = { ...record.ending, stopDate: date(record.ending.stopDate) };
        break;
    }
  }
  if (!run) return undefined;
  const kept = { run, history, alerts, calls };
  if (!ending) return kept;
  return { ...kept, ended: { ...run, ...ending, path: statesEntered(history), calls, history, alerts } };
}

/**
 * One process at a time per data folder: LevelDB allows no more, and fails late and obscurely. A lock left by a
 * process that is gone is taken over; the pid of that process is returned, so that the restart can say so.
 */
function lockDataDir(dataDir: string): number | undefined {
  const lock = join(dataDir, LOCK_FILE);
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(readFileSync(lock, 'utf8'));
  let alive = false;
  try {
    process.kill(holder, 0);
    alive = true;
  } catch {
    // no such process: the lock is stale
  }
  if (alive && holder !== process.pid) throw new DataDirInUseError(`${dataDir} is in use by another saga process (pid ${holder})`);
  writeFileSync(lock, String(process.pid));
  return holder === process.pid ? undefined : holder;
}
