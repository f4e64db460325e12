import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Rewrites an execution's journal as a version that kept no definition wrote it: its start record without one. */
export async function withoutDefinition(dataDir: string, name: string): Promise<void> {
  const file = join(dataDir, 'executions', `${name}.jsonl`);
  const [start, ...rest] = (await readFile(file, 'utf8')).split('\n');
  const { pinned, ...older } = JSON.parse(start as string) as Record<string, unknown>;
  if (pinned === undefined) throw new Error(`${file} keeps no definition to take out`);
  await writeFile(file, [JSON.stringify(older), ...rest].join('\n'));
}
