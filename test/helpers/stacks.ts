// The project's stack files as `pulumi up` reads them, and what a stack's settings let it deploy: jest-free, so that
// the saga files tests hand to the CLI and to the Pulumi program share them with the tests.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Saga } from '../../asl/index.ts';
import { deployableSaga, settingsFrom, stackFileConfig, StackSettingsError, type StackSettings } from '../../infra/settings.ts';
import { sagaOfSize } from './saga-shapes.ts';

/** The settings of a project stack, as `pulumi up` reads them from its file (Pulumi.<stack>.yaml). */
export const projectStackSettings = (stack: string): StackSettings =>
  settingsFrom(stackFileConfig(parseYaml(readFileSync(new URL(`../../Pulumi.${stack}.yaml`, import.meta.url), 'utf8'))), stack);

/** Whether a stack of these settings deploys the saga (on EXPRESS: within its five minutes); a bad saga throws. */
export function deploys(saga: Saga, settings: StackSettings): boolean {
  try {
    deployableSaga(saga, settings);
    return true;
  } catch (error) {
    if (error instanceof StackSettingsError) return false;
    throw error;
  }
}

/**
 * The saga's first stages, as many as a stack of these settings deploys: the whole saga when it fits. How long a step
 * list an EXPRESS stack admits is the user's to choose (a longer one is refused, naming the settings to change), so
 * tests of what such a stack deploys take the part of the saga that it admits, whatever the step list.
 */
export function deployedPartOf(saga: Saga, settings: StackSettings): Saga {
  for (let stages = saga.steps.length; stages > 0; stages--) {
    const part = { ...saga, steps: saga.steps.slice(0, stages) };
    if (deploys(part, settings)) return part;
  }
  throw new StackSettingsError(`not even the first stage of ${saga.name} deploys with these settings`);
}

/**
 * The size of the shortest saga of bookings (sagaOfSize) that a stack of these settings refuses: on EXPRESS, the first
 * whose worst case outruns Express's five minutes. Tests of that refusal take it, not the trip, which may well fit.
 */
export function shortestRefusedSize(settings: StackSettings, longest = 100): number {
  for (let size = 1; size <= longest; size++) if (!deploys(sagaOfSize(size), settings)) return size;
  throw new Error(`a stack of these settings deploys every saga of up to ${longest} steps`);
}
