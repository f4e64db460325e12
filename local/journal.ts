import {
  closeSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
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
//
// Opening the folder repairs it before anything is appended: a torn last record (a write cut short by the end of the
// process) is dropped and the file truncated to its last complete record; a journal that cannot be read (empty, a
// record that is not one) is set aside in quarantined/ and named, so that its name is free again. A write that fails
// (a full disk) leaves no partial record: the file is cut back to its last complete one.

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

/** A journal could not be written (a full disk, a folder made read-only): the record was not kept. */
export class JournalWriteError extends Error {
  override readonly name = 'JournalWriteError';
}

/** A journal that holds something other than records: set aside when the folder is opened. */
export class JournalUnreadableError extends Error {
  override readonly name = 'JournalUnreadableError';
}

/** A journal the opening of the folder set aside, and why. */
export interface Quarantined {
  /** The execution's name, as its file named it. */
  readonly key: string;
  /** Where it was, and where it is now, relative to the data folder. */
  readonly file: string;
  readonly movedTo: string;
  readonly reason: string;
}

const LOCK_FILE = 'saga.lock';
const SUFFIX = '.jsonl';
const QUARANTINE_DIR = 'quarantined';
const RECORD_TYPES: ReadonlySet<string> = new Set(['start', 'event', 'call', 'alert', 'redrive', 'end']);

/** A write failure, as a user reads it: the file and the system's reason. */
const writeFailure = (file: string, error: unknown): JournalWriteError =>
  new JournalWriteError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);

/**
 * Appends the records of one execution's runs to its journal. A record that cannot be written whole is cut away
 * and a JournalWriteError thrown; every later append refuses the same way, so that nothing follows a gap.
 */
export class JournalWriter {
  readonly #fd: number;
  /** The file, relative to the data folder, for messages. */
  readonly file: string;
  /** The length of the journal up to its last complete record. */
  #size: number;
  #failure: JournalWriteError | undefined;

  constructor(fd: number, file: string, size: number) {
    this.#fd = fd;
    this.file = file;
    this.#size = size;
  }

  #append(record: JournalRecord): void {
    if (this.#failure) throw this.#failure;
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    try {
      const written = writeSync(this.#fd, line);
      if (written !== line.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      this.#size += written;
    } catch (error) {
      this.#failure = writeFailure(this.file, error);
      try {
        ftruncateSync(this.#fd, this.#size);
      } catch {
        // The file cannot even be cut back: the next opening of the folder drops the torn record.
      }
      throw this.#failure;
    }
  }

  start(record: Extract<JournalRecord, { type: 'start' }>): void {
    this.#append(record);
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
    try {
      this.#append({ type: 'end', ending });
    } finally {
      this.close();
    }
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
  /** The folder the messages name files relative to: the data folder given, for the rollback's journal too. */
  readonly #root: string;
  /** What was done with the lock of a process gone without releasing the folder, when this one took it over. */
  readonly staleLock: string | undefined;
  /** The journals that the opening set aside, and the torn records it dropped, one line each. */
  readonly quarantined: readonly Quarantined[];
  readonly repaired: readonly string[];
  /**
   * Each kept name as a case-insensitive, normalising file system (macOS, Windows) would see it: two names it would
   * conflate cannot both be kept.
   */
  readonly #folded = new Map<string, string>();

  private constructor(dataDir: string, root: string, staleLock: string | undefined) {
    this.#dataDir = dataDir;
    this.#root = root;
    this.#dir = join(dataDir, 'executions');
    this.staleLock = staleLock;
    mkdirSync(this.#dir, { recursive: true });
    const quarantined: Quarantined[] = [];
    const repaired: string[] = [];
    for (const file of readdirSync(this.#dir).filter((name) => name.endsWith(SUFFIX))) {
      const key = file.slice(0, -SUFFIX.length);
      const outcome = this.#repair(key);
      if (typeof outcome === 'object') {
        quarantined.push(outcome);
        continue;
      }
      if (outcome !== undefined) repaired.push(outcome);
      this.#folded.set(folded(key), key);
    }
    this.quarantined = quarantined;
    this.repaired = repaired;
  }

  static open(dataDir: string): Journal {
    mkdirSync(dataDir, { recursive: true });
    return new Journal(dataDir, dataDir, lockDataDir(dataDir));
  }

  /** The journal of another state machine kept inside this folder, under its lock. */
  within(dir: string): Journal {
    return new Journal(join(this.#dataDir, dir), this.#root, undefined);
  }

  #path(key: string): string {
    return join(this.#dir, `${key}${SUFFIX}`);
  }

  /** A file of this folder as messages name it: relative to the data folder. */
  #shown(path: string): string {
    return path.startsWith(`${this.#root}/`) ? path.slice(this.#root.length + 1) : path;
  }

  /**
   * Makes a journal readable before anything is appended to it: a torn last record is dropped (said in the line
   * returned); a journal that is not one is moved to quarantined/ (returned as such). Undefined when it was whole.
   */
  #repair(key: string): string | Quarantined | undefined {
    const path = this.#path(key);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      return this.#quarantine(key, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const whole = text.lastIndexOf('\n') + 1;
    const torn = Buffer.byteLength(text.slice(whole));
    const problem = recordsProblem(text.slice(0, whole));
    if (problem !== undefined) return this.#quarantine(key, problem);
    if (torn === 0) return undefined;
    truncateSync(path, Buffer.byteLength(text.slice(0, whole)));
    return `${this.#shown(path)}: its last record was torn (${torn} bytes, a write cut short): dropped`;
  }

  #quarantine(key: string, reason: string): Quarantined {
    const from = this.#path(key);
    const dir = join(this.#dataDir, QUARANTINE_DIR);
    mkdirSync(dir, { recursive: true });
    // Stamped, so that a name quarantined twice keeps both.
    const to = join(dir, `${key}${SUFFIX}.${new Date().toISOString().replaceAll(':', '-')}`);
    renameSync(from, to);
    return { key, file: this.#shown(from), movedTo: this.#shown(to), reason };
  }

  /**
   * Accepts an execution: its start record is on disk when this returns. `key` names the journal (the
   * execution's name on a STANDARD machine): an existing one is refused, atomically (O_EXCL), and so is one that a
   * case-insensitive file system would take for a kept one. A start that cannot be written leaves no file.
   */
  begin(key: string, run: ExecutionRun): JournalWriter {
    const same = this.#folded.get(folded(key));
    if (same !== undefined && same !== key)
      throw new JournalExistsError(
        `an execution named "${run.name}" would share its journal with the kept "${same}" where file names ignore case or ` +
          'Unicode normalisation',
      );
    const path = this.#path(key);
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new JournalExistsError(`an execution named "${run.name}" is already kept`);
      throw writeFailure(this.#shown(path), error);
    }
    const { name, executionArn, input, startDate, pinned } = run;
    const writer = new JournalWriter(fd, this.#shown(path), 0);
    try {
      writer.start({ type: 'start', name, executionArn, input, startDate: startDate.toISOString(), ...(pinned ? { pinned } : {}) });
    } catch (error) {
      writer.close();
      unlinkSync(path);
      throw error;
    }
    this.#folded.set(folded(key), key);
    return writer;
  }

  /** Appends to the journal of a kept execution: a redrive, or the continuation of an interrupted run. */
  reopen(key: string): JournalWriter {
    const path = this.#path(key);
    try {
      const fd = openSync(path, 'a');
      return new JournalWriter(fd, this.#shown(path), readFileSync(path).length);
    } catch (error) {
      throw writeFailure(this.#shown(path), error);
    }
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

/** A name as a case-insensitive file system that normalises Unicode compares it. */
const folded = (key: string): string => key.normalize('NFC').toLowerCase();

/** Why these complete lines are not a journal, or undefined when every one is a record and the first a start. */
function recordsProblem(text: string): string | undefined {
  const lines = text.split('\n').slice(0, -1);
  if (lines.every((line) => line === '')) return 'empty: not even its start was written';
  for (const [index, line] of lines.entries()) {
    // A blank line holds no record, and folds to nothing.
    if (line === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      return `line ${index + 1} is not JSON (${(error as Error).message})`;
    }
    const type = typeof record === 'object' && record !== null ? (record as { type?: unknown }).type : undefined;
    if (typeof type !== 'string' || !RECORD_TYPES.has(type)) return `line ${index + 1} is not a journal record: ${line.slice(0, 80)}`;
    if (type !== 'start' && lines.slice(0, index).every((before) => before === ''))
      return 'its first record is not the start of an execution';
  }
  return undefined;
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
    } catch {
      // A record being written as this reads (the last, without its newline yet) is not done; the folder's opening
      // set aside any journal with another bad line.
      if (index === lines.length - 1) break;
      throw new JournalUnreadableError(`line ${index + 1} of a journal is not JSON`);
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
 * One process at a time per data folder: LevelDB allows no more, and fails late and obscurely. The lock file is made
 * whole or not at all (written aside, then linked into place), and holds the pid of its process. A lock of no live
 * process (a dead pid, or an empty or garbled file that a crash or another tool left) is taken over; what was found
 * is returned, so that the start can say so.
 */
function lockDataDir(dataDir: string): string | undefined {
  const lock = join(dataDir, LOCK_FILE);
  const aside = join(dataDir, `${LOCK_FILE}.${process.pid}`);
  writeFileSync(aside, String(process.pid));
  try {
    linkSync(aside, lock);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(aside, { force: true });
  }
  const text = readFileSync(lock, 'utf8');
  const holder = /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
  if (holder === process.pid) return undefined;
  if (holder !== undefined && holder > 0 && isAlive(holder))
    throw new DataDirInUseError(`${dataDir} is in use by another saga process (pid ${holder})`);
  writeFileSync(lock, String(process.pid));
  if (holder !== undefined && holder > 0) return `the process that held it (pid ${holder}) is gone`;
  return text.trim() === ''
    ? 'its lock file was empty (left by a crash)'
    : `its lock file held no pid (${JSON.stringify(text.slice(0, 40))})`;
}

/** Whether a process of this pid runs: one of another user's answers EPERM, and is alive. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
