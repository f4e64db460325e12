import type { ErrorObject } from 'ajv';

/**
 * One line per schema error, naming the culprit: ajv's own messages leave out which property is unknown or
 * which value was expected. Errors of `if` are dropped: the branch that failed reports the real problem.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[] | null | undefined, root: string): string[] {
  return (errors ?? [])
    .filter((error) => error.keyword !== 'if')
    .map((error) => {
      const where = error.instancePath || root;
      const params = error.params as Record<string, unknown>;
      switch (error.keyword) {
        case 'additionalProperties':
          return `${where} has an unknown property "${String(params['additionalProperty'])}"`;
        case 'const':
          return `${where} must be ${JSON.stringify(params['allowedValue'])}`;
        case 'discriminator':
          return `${where} has a Type this project does not emit: ${JSON.stringify(params['tagValue'] ?? null)} (it emits Task, Parallel, Choice, Fail and Succeed states)`;
        case 'enum':
          return `${where} must be one of ${(params['allowedValues'] as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
        default:
          return `${where} ${error.message ?? 'is invalid'}`;
      }
    });
}
