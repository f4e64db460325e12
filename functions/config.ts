import { deployedStepsOf, isCustomStep, recordsOf, tableOf, type Saga } from '../asl/saga.ts';
import { ConfigurationError } from './errors.ts';

/** What one function needs to know of its step; the infrastructure and the local mode set it in the environment. */
export interface StepConfig {
  /** The Task state this function serves, e.g. `BookHotel`: it appears in logs and is what `fail` names. */
  readonly state: string;
  /** The step, e.g. `Hotel`. */
  readonly step: string;
  /** The physical name of the step's DynamoDB table: a booking's, or a custom step's own; none for a custom step without one. */
  readonly table?: string;
  /** What one input of the saga is, e.g. `Order`: it names the payload key and the error of an invalid input. */
  readonly noun: string;
  /** The input field that keys the booking. */
  readonly keyField: string;
  /** The input fields the booking records. */
  readonly records: readonly string[];
  /** How long a cancellation marker keeps refusing late bookings before DynamoDB's TTL removes it. */
  readonly cancelMarkerTtlSeconds: number;
  /** The environment values a custom step declared, by name: its code reads these and no others. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Whether an input may ask this function to fail (demos and tests only). */
  readonly faultInjection: boolean;
}

/** The environment variables behind each setting, for whoever sets them. */
export const ConfigVariable = {
  state: 'SAGA_STATE',
  step: 'SAGA_STEP',
  table: 'SAGA_TABLE',
  noun: 'SAGA_NOUN',
  keyField: 'SAGA_KEY_FIELD',
  records: 'SAGA_RECORDS',
  cancelMarkerTtlSeconds: 'SAGA_CANCEL_MARKER_TTL_SECONDS',
  faultInjection: 'SAGA_FAULT_INJECTION',
  environment: 'SAGA_STEP_ENVIRONMENT',
} as const;

/** @default 30 days: far beyond any retry or timeout that could deliver a late booking. */
export const DEFAULT_CANCEL_MARKER_TTL_SECONDS = 30 * 24 * 3600;

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NOUN = /^[A-Z][A-Za-z0-9]*$/;

export function configToEnvironment(config: StepConfig): Record<string, string> {
  return {
    [ConfigVariable.state]: config.state,
    [ConfigVariable.step]: config.step,
    ...(config.table === undefined ? {} : { [ConfigVariable.table]: config.table }),
    [ConfigVariable.noun]: config.noun,
    [ConfigVariable.keyField]: config.keyField,
    [ConfigVariable.records]: config.records.join(','),
    [ConfigVariable.cancelMarkerTtlSeconds]: String(config.cancelMarkerTtlSeconds),
    [ConfigVariable.faultInjection]: config.faultInjection ? 'enabled' : 'disabled',
    // The declared values themselves, and their names, so that the function reads back exactly these.
    ...(config.environment === undefined
      ? {}
      : { ...config.environment, [ConfigVariable.environment]: Object.keys(config.environment).join(',') }),
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
  // A booking's function needs its table: it refuses to be created without one (bookingHandler).
  const table = env[ConfigVariable.table]?.trim() || undefined;
  const noun = required(ConfigVariable.noun);
  if (noun && !NOUN.test(noun)) problems.push(`${ConfigVariable.noun}: "${noun}" is not a PascalCase word`);
  const keyField = required(ConfigVariable.keyField);
  // A custom step's function records nothing of its own accord: its code decides.
  const records = (env[ConfigVariable.records] ?? '')
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
  const declared = (env[ConfigVariable.environment] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of declared) if (env[name] === undefined) problems.push(`${name} is declared by the step but not set`);
  const environment = Object.fromEntries(declared.map((name) => [name, env[name] ?? '']));
  if (problems.length > 0) throw new ConfigurationError(`bad function configuration: ${problems.join('; ')}`);
  return {
    state,
    step,
    ...(table === undefined ? {} : { table }),
    noun,
    keyField,
    records,
    ...(declared.length ? { environment } : {}),
    cancelMarkerTtlSeconds,
    faultInjection: faults === 'enabled',
  };
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
          ...(tableOf(step) === undefined ? {} : { table: tableOf(step) as string }),
          noun: saga.noun,
          keyField: saga.keyField,
          records: recordsOf(step),
          ...(isCustomStep(step) && step.needs?.environment ? { environment: step.needs.environment } : {}),
          cancelMarkerTtlSeconds: options.cancelMarkerTtlSeconds ?? DEFAULT_CANCEL_MARKER_TTL_SECONDS,
          faultInjection: options.faultInjection,
        },
      ]),
    ),
  );
}
