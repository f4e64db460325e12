// The Pulumi program: a saga's stack (saga.ts's, unless the `saga` setting names another step list), configured by the
// stack's settings (Pulumi.<stack>.yaml).
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { buildFunctions } from '../functions/build.ts';
import { loadSaga } from '../bin/saga-module.ts';
import { SagaStack } from './saga-stack.ts';
import { deployableSaga, sagaModuleOf, settingsFrom } from './settings.ts';

const BUNDLES = fileURLToPath(new URL('../dist/functions', import.meta.url));

/** Runs once per `pulumi up` or preview; what it returns are the stack's outputs. */
export default async function sagaProgram() {
  const config = new pulumi.Config();
  const settings = settingsFrom((key) => config.get(key), pulumi.getStack());
  // The stack's `saga` setting chooses its step list; saga.ts by default.
  const saga = await loadSaga(sagaModuleOf(settings));
  // Refused before anything is bundled or registered; the stack checks the same itself.
  deployableSaga(saga, settings);
  const code = await buildFunctions(saga, { outDir: BUNDLES });
  const stack = new SagaStack('saga', { saga, settings, code });
  return {
    // Start executions here: the alias of the latest published version (README, "Changing a deployed saga").
    stateMachineAliasArn: stack.stateMachineAlias.arn,
    stateMachineVersionArn: stack.stateMachine.stateMachineVersionArn,
    stateMachineArn: stack.stateMachine.arn,
    stateMachineName: stack.stateMachine.name,
    alertTopicArn: stack.alertTopic.arn,
    dashboardUrl: stack.dashboardUrl,
    stateMachineLogGroup: stack.stateMachineLogs.name,
    rollbackStateMachineAliasArn: stack.rollbackStateMachineAlias.arn,
    rollbackStateMachineArn: stack.rollbackStateMachine.arn,
    rollbackStateMachineName: stack.rollbackStateMachine.name,
    rollbackStateMachineLogGroup: stack.rollbackStateMachineLogs.name,
    tableNames: pulumi.all(Object.fromEntries(Object.entries(stack.tables).map(([step, table]) => [step, table.name]))),
    functionNames: pulumi.all(Object.fromEntries(Object.entries(stack.functions).map(([state, fn]) => [state, fn.name]))),
    // `saga verify --stack` injects faults only where the functions honour them.
    faultInjection: pulumi.output(settings.faultInjection),
  };
}
