import { readFile, writeFile } from 'node:fs/promises';

/** Exit statuses of the `saga` command. */
export const Exit = {
  ok: 0,
  /** The step list, the ARNs or a definition is invalid; or an execution failed in an unforeseen way. */
  invalid: 1,
  /** A bad command line or an unreadable file. */
  usage: 2,
  rolledBack: 3,
  /** A compensation, or past the pivot a retriable step, gave up: alerted, stopped at a Task, to be redriven. */
  notFinished: 4,
  badInput: 5,
} as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A file or folder named on the command line that cannot be read or written: the user's to fix, not a crash. */
export function isFileError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return (
    error instanceof Error &&
    typeof (error as NodeJS.ErrnoException).syscall === 'string' &&
    ['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EEXIST', 'EROFS', 'ENOSPC', 'ENAMETOOLONG'].includes(code ?? '')
  );
}

/** An error as a user reads it: its name and message, without the trace. */
export const errorLine = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : `an unexpected ${typeof error} was thrown: ${String(error)}`;

export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readText(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Writes to the file named, or to standard output when none is, or `-` (as Unix tools read it). */
export async function writeOrPrint(text: string, out: string | undefined): Promise<void> {
  if (out === undefined || out === '-') {
    process.stdout.write(`${text}\n`);
    return;
  }
  await writeFile(out, text);
  process.stderr.write(`wrote ${out}\n`);
}
