import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';

// Temporary folders for a test file, removed when its tests are done.

const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh folder, removed after the test file's tests. */
export async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'saga-test-'));
  created.push(dir);
  return dir;
}

/** Writes `text` to a file in a fresh folder and returns its path. */
export async function scratchFile(text: string, name = 'file.json'): Promise<string> {
  const file = join(await scratchDir(), name);
  await writeFile(file, text);
  return file;
}
