import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from '@jest/globals';
import type { Saga } from '../../asl/saga.ts';
import type { Trip } from '../../saga.ts';
import { ExecutionInterruptedError, LocalSaga } from '../../local/runtime.ts';

/** Rewrites an execution's journal as a version that kept no definition wrote it: its start record without one. */
export async function withoutDefinition(dataDir: string, name: string): Promise<void> {
  const file = join(dataDir, 'executions', `${name}.jsonl`);
  const [start, ...rest] = (await readFile(file, 'utf8')).split('\n');
  const { pinned, ...older } = JSON.parse(start as string) as Record<string, unknown>;
  if (pinned === undefined) throw new Error(`${file} keeps no definition to take out`);
  await writeFile(file, [JSON.stringify(older), ...rest].join('\n'));
}

/**
 * Leaves an execution interrupted in a data folder, as a process stopped mid-run leaves it: `failing` fails twice,
 * its retry pausing 5 s, and the process closes once `booked` (a step before it, or beside it in a group) has booked.
 */
export async function interruptedExecution(saga: Saga, dataDir: string, trip: Trip, failing: string, booked: string): Promise<void> {
  const before = await LocalSaga.start({ saga, dataDir });
  const started = before.begin(trip, { faults: { [failing]: { times: 2 } }, retryDelayMs: 5_000 });
  const interrupted = expect(started.done).rejects.toBeInstanceOf(ExecutionInterruptedError);
  while ((await before.bookingsOf(trip.trip_id))[booked] === undefined) await sleep(20);
  await before.close();
  await interrupted;
}
