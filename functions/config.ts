import { deployedStepsOf, type Saga } from '../asl/saga.ts';
import { ConfigurationError } from './errors.ts';

/** What one function needs to know of its step; the infrastructure and the local mode set it in the environment. */
export interface StepConfig {
  /** The Task state this function serves, e.g. `BookHotel`: it appears in logs and is what `fail` names. */
  readonly state: string;
  /** The step, e.g. `Hotel`. */
  readonly step: string;
  /** The physical name of the step's DynamoDB table. */
  readonly table: string;
  /** The input field that keys the booking. */
  readonly keyField: string;
  /** The input fields the booking records. */
  readonly records: readonly string[];
  /** How long a cancellation marker keeps refusing late bookings before DynamoDB's TTL removes it. */
  readonly cancelMarkerTtlSeconds: number;
  /** Whether a trip may ask this function to fail (demos and tests only). */
  readonly faultInjection: boolean;
}

/** The environment variables behind each setting, for whoever sets them. */
export const ConfigVariable = {
  state: 'SAGA_STATE',
  step: 'SAGA_STEP',
  table: 'SAGA_TABLE',
  keyField: 'SAGA_KEY_FIELD',
  records: 'SAGA_RECORDS',
  cancelMarkerTtlSeconds: 'SAGA_CANCEL_MARKER_TTL_SECONDS',
  faultInjection: 'SAGA_FAULT_INJECTION',
} as const;

/** @default 30 days: far beyond any retry or timeout that could deliver a late booking. */
export const DEFAULT_CANCEL_MARKER_TTL_SECONDS = 30 * 24 * 3600;

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function configToEnvironment(config: StepConfig): Record<string, string> {
  return {
    [ConfigVariable.state]: config.state,
    [ConfigVariable.step]: config.step,
    [ConfigVariable.table]: config.table,
    [ConfigVariable.keyField]: config.keyField,
    [ConfigVariable.records]: config.records.join(','),
    [ConfigVariable.cancelMarkerTtlSeconds]: String(config.cancelMarkerTtlSeconds),
    [ConfigVariable.faultInjection]: config.faultInjection ? 'enabled' : 'disabled',
  };
}

/** Reads and checks the configuration once, at cold start, naming each variable that is wrong. */
export function configFromEnvironment(env: Readonly<Record<string, string | undefined>>): StepConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const state = required(ConfigVariable.state);
  const step = required(ConfigVariable.step);
  const table = required(ConfigVariable.table);
  const keyField = required(ConfigVariable.keyField);
  const records = required(ConfigVariable.records)
    .split(',')
    .map((field) => field.trim())
    .filter(Boolean);
  for (const field of [keyField, ...records]) {
    if (field && !FIELD.test(field)) problems.push(`${ConfigVariable.records}/${ConfigVariable.keyField}: "${field}" is not a field name`);
  }
  const ttlText = env[ConfigVariable.cancelMarkerTtlSeconds];
  const cancelMarkerTtlSeconds = ttlText === undefined ? DEFAULT_CANCEL_MARKER_TTL_SECONDS : Number(ttlText);
  if (!Number.isInteger(cancelMarkerTtlSeconds) || cancelMarkerTtlSeconds < 60) {
    problems.push(`${ConfigVariable.cancelMarkerTtlSeconds} must be an integer of at least 60, got "${ttlText}"`);
  }
  const faults = env[ConfigVariable.faultInjection] ?? 'disabled';
  if (faults !== 'enabled' && faults !== 'disabled') {
    problems.push(`${ConfigVariable.faultInjection} must be "enabled" or "disabled", got "${faults}"`);
  }
  if (problems.length > 0) throw new ConfigurationError(`bad function configuration: ${problems.join('; ')}`);
  return { state, step, table, keyField, records, cancelMarkerTtlSeconds, faultInjection: faults === 'enabled' };
}

export interface DeploymentOptions {
  readonly faultInjection: boolean;
  readonly cancelMarkerTtlSeconds?: number;
}

/**
 * The configuration of every function of the saga (retired steps' too), by Task state name, derived from the step list. Tables have
 * their step-list names; a deployment whose tables are named otherwise replaces `table`, as infra does.
 */
export function stepConfigsOf(saga: Saga, options: DeploymentOptions): Record<string, StepConfig> {
  return Object.fromEntries(
    deployedStepsOf(saga).flatMap((step) =>
      [step.action, step.compensation].map((state) => [
        state,
        {
          state,
          step: step.name,
          table: step.table,
          keyField: saga.keyField,
          records: step.records,
          cancelMarkerTtlSeconds: options.cancelMarkerTtlSeconds ?? DEFAULT_CANCEL_MARKER_TTL_SECONDS,
          faultInjection: options.faultInjection,
        },
      ]),
    ),
  );
}
