import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { GetFunctionConfigurationCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { tripSaga } from '../../saga.ts';
import { task } from '../helpers/asl.ts';
import { steps } from '../helpers/sagas.ts';

// Lambda's GetFunctionConfiguration on saga local's Step Functions port, as the AWS SDK's Lambda client reads it.

let local: LocalSaga;
let server: StepFunctionsServer;
let lambda: LambdaClient;

beforeAll(async () => {
  local = await LocalSaga.start({ saga: tripSaga, faultInjection: false });
  server = await StepFunctionsServer.start(local);
  lambda = new LambdaClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: server.endpoint });
});
afterAll(async () => {
  lambda.destroy();
  await server.close();
  await local.close();
});

it('tells each function’s environment, by the ARN the definition names or by name: its table, its fault injection', async () => {
  for (const step of steps) {
    for (const state of [step.action, step.compensation]) {
      const arn = task(local.definition, state).Resource;
      const byArn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: arn }));
      expect(byArn).toMatchObject({ FunctionName: state, FunctionArn: arn });
      expect(byArn.Environment?.Variables).toMatchObject({ SAGA_STATE: state, SAGA_TABLE: step.table, SAGA_FAULT_INJECTION: 'disabled' });
      expect((await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: state }))).FunctionArn).toBe(arn);
    }
  }
});

it('answers ResourceNotFoundException for a function the saga does not have', async () => {
  await expect(lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'NoSuchFunction' }))).rejects.toThrow(
    ResourceNotFoundException,
  );
});
