// JSON Schema of the ASL subset in model.ts. The types say what we mean to emit; this schema checks
// what a definition actually holds, including one read back from a file or built by hand.

/** AWS's limit on a state name. */
export const MAX_STATE_NAME_LENGTH = 80;

const name = { type: 'string', minLength: 1, maxLength: MAX_STATE_NAME_LENGTH } as const;
const errorList = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } as const;
const path = { type: 'string', pattern: '^\\$' } as const;
const positiveInteger = { type: 'integer', minimum: 1 } as const;

const retrier = {
  type: 'object',
  required: ['ErrorEquals'],
  additionalProperties: false,
  properties: {
    ErrorEquals: errorList,
    IntervalSeconds: { type: 'integer', minimum: 1, maximum: 99999999 },
    MaxAttempts: { type: 'integer', minimum: 0, maximum: 99999999 },
    BackoffRate: { type: 'number', minimum: 1 },
    MaxDelaySeconds: { type: 'integer', minimum: 1, maximum: 31622400 },
    JitterStrategy: { enum: ['FULL', 'NONE'] },
  },
} as const;

const catcher = {
  type: 'object',
  required: ['ErrorEquals', 'Next'],
  additionalProperties: false,
  properties: { ErrorEquals: errorList, Next: name, ResultPath: { anyOf: [path, { type: 'null' }] } },
} as const;

const task = {
  type: 'object',
  required: ['Type', 'Resource'],
  additionalProperties: false,
  properties: {
    Type: { const: 'Task' },
    Comment: { type: 'string' },
    Resource: { type: 'string', pattern: '^arn:aws[a-z-]*:' },
    Parameters: { type: 'object' },
    ResultPath: path,
    TimeoutSeconds: positiveInteger,
    Retry: { type: 'array', items: retrier },
    Catch: { type: 'array', items: catcher },
    Next: name,
    End: { const: true },
  },
  oneOf: [{ required: ['Next'] }, { required: ['End'] }],
} as const;

const fail = {
  type: 'object',
  required: ['Type', 'Error', 'Cause'],
  additionalProperties: false,
  properties: {
    Type: { const: 'Fail' },
    Comment: { type: 'string' },
    Error: { type: 'string', minLength: 1 },
    Cause: { type: 'string' },
  },
} as const;

/** An object of exactly these properties, every one of them required. */
const exactly = (properties: Record<string, unknown>) =>
  ({ type: 'object', required: Object.keys(properties), additionalProperties: false, properties }) as const;
const stringEquals = { Variable: path, StringEquals: { type: 'string' } } as const;
const isPresent = { Variable: path, IsPresent: { type: 'boolean' } } as const;
/** A Choice rule: one test (a string equal, a path present or absent), or any of several under `Or`, and its `Next`. */
const choiceRule = {
  oneOf: [
    exactly({ ...stringEquals, Next: name }),
    exactly({ ...isPresent, Next: name }),
    exactly({ Or: { type: 'array', minItems: 1, items: { oneOf: [exactly(stringEquals), exactly(isPresent)] } }, Next: name }),
  ],
} as const;

const choice = {
  type: 'object',
  required: ['Type', 'Choices', 'Default'],
  additionalProperties: false,
  properties: {
    Type: { const: 'Choice' },
    Comment: { type: 'string' },
    Choices: {
      type: 'array',
      minItems: 1,
      items: choiceRule,
    },
    Default: name,
  },
} as const;

const succeed = {
  type: 'object',
  required: ['Type'],
  additionalProperties: false,
  properties: { Type: { const: 'Succeed' }, Comment: { type: 'string' } },
} as const;

/** A state machine's states, or a Parallel branch's: recursive through `#/$defs/graph`. */
const graphRef = { $ref: '#/$defs/graph' } as const;

const parallel = {
  type: 'object',
  required: ['Type', 'Branches'],
  additionalProperties: false,
  properties: {
    Type: { const: 'Parallel' },
    Comment: { type: 'string' },
    Branches: { type: 'array', minItems: 1, items: graphRef },
    Parameters: { type: 'object' },
    ResultSelector: { type: 'object' },
    ResultPath: path,
    Catch: { type: 'array', items: catcher },
    Next: name,
    End: { const: true },
  },
  oneOf: [{ required: ['Next'] }, { required: ['End'] }],
} as const;

export const definitionSchema = {
  $id: 'saga-asl-subset',
  type: 'object',
  required: ['StartAt', 'States'],
  additionalProperties: false,
  properties: {
    Comment: { type: 'string' },
    StartAt: name,
    TimeoutSeconds: positiveInteger,
    States: { $ref: '#/$defs/states' },
  },
  $defs: {
    states: {
      type: 'object',
      minProperties: 1,
      propertyNames: name,
      // The discriminator checks a state against the one branch its Type names (ajv `discriminator` option).
      additionalProperties: {
        type: 'object',
        discriminator: { propertyName: 'Type' },
        required: ['Type'],
        oneOf: [task, parallel, choice, fail, succeed],
      },
    },
    graph: {
      type: 'object',
      required: ['StartAt', 'States'],
      additionalProperties: false,
      properties: { Comment: { type: 'string' }, StartAt: name, States: { $ref: '#/$defs/states' } },
    },
  },
} as const;
