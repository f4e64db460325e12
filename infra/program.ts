// The Pulumi program: the trip saga's stack, configured by the stack's settings (Pulumi.<stack>.yaml).
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { buildFunctions } from '../functions/build.ts';
import { tripSaga } from '../saga.ts';
import { SagaStack } from './saga-stack.ts';
import { settingsFrom } from './settings.ts';

const BUNDLES = fileURLToPath(new URL('../dist/functions', import.meta.url));

/** Runs once per `pulumi up` or preview; what it returns are the stack's outputs. */
export default async function sagaProgram() {
  const config = new pulumi.Config();
  const settings = settingsFrom((key) => config.get(key), pulumi.getStack());
  const code = await buildFunctions(tripSaga, { outDir: BUNDLES });
  const stack = new SagaStack('trip', { saga: tripSaga, settings, code });
  return {
    stateMachineArn: stack.stateMachine.arn,
    stateMachineName: stack.stateMachine.name,
    alertTopicArn: stack.alertTopic.arn,
    stateMachineLogGroup: stack.stateMachineLogs.name,
    rollbackStateMachineArn: stack.rollbackStateMachine.arn,
    rollbackStateMachineName: stack.rollbackStateMachine.name,
    rollbackStateMachineLogGroup: stack.rollbackStateMachineLogs.name,
    tableNames: pulumi.all(Object.fromEntries(Object.entries(stack.tables).map(([step, table]) => [step, table.name]))),
    functionNames: pulumi.all(Object.fromEntries(Object.entries(stack.functions).map(([state, fn]) => [state, fn.name]))),
  };
}
