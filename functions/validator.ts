// A saga's input validators, made from its schema: what every function checks its event against. The functions of a
// deployment carry them compiled ahead of time (ajv standalone code, bundled by functions/build.ts), so that a cold
// start never runs the ajv compiler; the local mode and the tests compile them once per saga, in process, from the
// very same schema and keywords.
import { _, Ajv, str, type AnySchemaObject, type KeywordCxt, type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { FAULT_FIELD, fieldsOf, payloadKeyOf, type Saga } from '../asl/saga.ts';
import { SagaDefinitionError } from '../asl/validate.ts';
import { FAULT_PATTERN } from './faults.ts';
import * as rules from './input-rules.ts';

/** The module the standalone code imports the rules from, relative to functions/ (where bundles resolve it). */
const RULES_MODULE = './input-rules.ts';

/** A rule of input-rules.ts, referenced so that the standalone code imports it rather than inlining it. */
const rule = (cxt: KeywordCxt, name: keyof typeof rules) =>
  cxt.gen.scopeValue('func', { ref: rules[name], code: _`require(${RULES_MODULE})[${name}]` });

/**
 * This project's own keywords, which any saga's schema may use: ajv-formats' date-time comparison cannot order leap
 * seconds, hour offsets or the epoch; uniqueItems cannot see that `CancelHotel` and `CancelHotel=2` name one state.
 */
function addInputKeywords(ajv: Ajv): void {
  // A keyword set to `true` holds when its rule of input-rules.ts holds for the value.
  const ruleKeyword = (keyword: string, type: 'string' | 'array', name: keyof typeof rules, message: string) =>
    ajv.addKeyword({
      keyword,
      type,
      schemaType: 'boolean',
      error: { message },
      code: (cxt) => cxt.fail(_`!${rule(cxt, name)}(${cxt.data})`),
    });
  ruleKeyword('instant', 'string', 'isInstant', 'must be an RFC 3339 date-time, e.g. 2017-07-10T12:00:00Z');
  ajv.addKeyword({
    keyword: 'after',
    type: 'string',
    schemaType: 'string',
    error: { message: ({ schema }) => str`must be a date-time after ${schema as string}` },
    // The sibling is read from the object holding this field; missing or unreadable, the check fails.
    code: (cxt) => cxt.fail(_`!${rule(cxt, 'isLaterInstant')}(${cxt.data}, ${cxt.it.parentData}[${cxt.schema as string}])`),
  });
  ruleKeyword('placeName', 'string', 'isPlaceName', 'must hold a visible character and no control characters');
  ruleKeyword('faultStates', 'array', 'hasDistinctFaultStates', 'must name each state at most once');
}

/** The most states one input may name to fail: a demo's or a scenario's few, with room to spare. */
export const MAX_FAULT_STATES = 20;

/**
 * Demos and `saga verify` only: the states that fail on purpose, each at most once, as `STATE` or `STATE=always`
 * (every attempt), `STATE=N` (the first N attempts of each entry of the state, by `$$.State.RetryCount`:
 * TransientError, retried) or `STATE=until-redrive` (until `$$.Execution.RedriveCount` is above 0), e.g.
 * `["BookRental", "CancelHotel=2"]` (functions/faults.ts). Ignored unless the function's configuration enables
 * fault injection. Every saga's input may carry it.
 */
const faultListSchema = {
  type: 'array',
  nullable: true,
  maxItems: MAX_FAULT_STATES,
  faultStates: true,
  items: { type: 'string', pattern: FAULT_PATTERN },
} as const;

/** The input's schema: the saga's fields, required unless declared optional, and the fault list; nothing else. */
export function inputSchemaOf(saga: Saga): AnySchemaObject {
  const optional = new Set<string>(saga.optional ?? []);
  return {
    type: 'object',
    additionalProperties: false,
    required: fieldsOf(saga).filter((field) => !optional.has(field)),
    properties: { ...saga.input, [FAULT_FIELD]: faultListSchema },
  };
}

/** An execution ARN (`$$.Execution.Id`): at most 2,048 characters, as AWS allows an ARN. */
export const EXECUTION_SCHEMA = { type: 'string', pattern: '^arn:[^\\s]+$', maxLength: 2048 } as const;

const count = { type: 'integer', minimum: 0, maximum: 1_000_000, nullable: true } as const;

/**
 * What Step Functions passes each function (see asl/render.ts): the execution's input, untouched, under the saga's
 * payload key; the id of the execution that owns whatever the function books or cancels; and where the attempt
 * stands (`$$.State.RetryCount`, `$$.Execution.RedriveCount`), which a fault that heals is keyed on. The counts are
 * absent from a direct invocation (a late delivery), which counts as a first attempt, never redriven.
 */
export function stepEventSchemaOf(saga: Saga): AnySchemaObject {
  return {
    $id: 'step-event',
    type: 'object',
    additionalProperties: false,
    required: [payloadKeyOf(saga), 'execution'],
    properties: { [payloadKeyOf(saga)]: inputSchemaOf(saga), execution: EXECUTION_SCHEMA, retryCount: count, redriveCount: count },
  };
}

/**
 * What a compensation needs of an event that fails the schema to still undo by key: the key, as its field's schema
 * allows it, and the owning execution. Anything else in the event may be wrong.
 */
export function ownerSchemaOf(saga: Saga): AnySchemaObject {
  return {
    $id: 'owner',
    type: 'object',
    required: [payloadKeyOf(saga), 'execution'],
    properties: {
      [payloadKeyOf(saga)]: { type: 'object', required: [saga.keyField], properties: { [saga.keyField]: saga.input[saga.keyField] } },
      execution: EXECUTION_SCHEMA,
    },
  };
}

/** The two checks of a saga's events: the whole event (every action, every compensation first), and its owner alone. */
export interface StepEventValidators {
  readonly event: ValidateFunction;
  readonly owner: ValidateFunction;
}

function ajvOf(saga: Saga, options: ConstructorParameters<typeof Ajv>[0] = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, ...options });
  addInputKeywords(ajv);
  try {
    ajv.addSchema(stepEventSchemaOf(saga)).addSchema(ownerSchemaOf(saga));
    // Compiled here, so that a schema ajv cannot compile is the saga's mistake, said as such.
    ajv.getSchema('step-event');
    ajv.getSchema('owner');
  } catch (error) {
    throw new SagaDefinitionError([`saga ${saga.name}: its input schema cannot be compiled: ${(error as Error).message}`]);
  }
  return ajv;
}

const compiled = new WeakMap<Saga, StepEventValidators>();

/** The saga's validators, compiled in process once per saga: for the local mode and the tests. */
export function stepEventValidatorsOf(saga: Saga): StepEventValidators {
  const known = compiled.get(saga);
  if (known) return known;
  const ajv = ajvOf(saga);
  const validators = { event: ajv.getSchema('step-event') as ValidateFunction, owner: ajv.getSchema('owner') as ValidateFunction };
  compiled.set(saga, validators);
  return validators;
}

/**
 * The saga's validators as an ES module of standalone code (named exports `event` and `owner`), which imports the
 * keywords' rules from functions/input-rules.ts: what a bundle carries, so that its cold start compiles nothing.
 */
export function validatorSourceOf(saga: Saga): string {
  const ajv = ajvOf(saga, { code: { source: true, esm: true } });
  const code = standaloneCode.default(ajv, { event: 'step-event', owner: 'owner' });
  // ajv's ESM output still require()s what it references; turn each into an import: ajv's runtime helpers are
  // CommonJS (a default import), the rules an ES module (a namespace import).
  const modules = [...new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1] as string))];
  const imports = modules.map((module, index) =>
    module === RULES_MODULE ? `import * as runtime${index} from "${module}";` : `import runtime${index} from "${module}.js";`,
  );
  const body = modules.reduce((text, module, index) => text.replaceAll(`require("${module}")`, `runtime${index}`), code);
  return [
    `// Generated by functions/validator.ts from saga ${saga.name}'s input schema.`,
    ...imports,
    body.replace(/^"use strict";/, ''),
  ].join('\n');
}
