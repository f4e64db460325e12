import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SAGA = fileURLToPath(new URL('../../bin/saga.js', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `saga` command as a user would, in its own process. */
export async function saga(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SAGA, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A fresh folder for a test's files. */
export const scratchDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'saga-cli-'));

/** Writes `text` to a file in a fresh folder and returns its path. */
export async function scratchFile(text: string, name = 'file.json'): Promise<string> {
  const file = join(await scratchDir(), name);
  await writeFile(file, text);
  return file;
}
