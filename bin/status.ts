import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_MAX_EXECUTIONS } from '../status/scan.ts';
import { addTargetOptions, deployedSaga, sagaOption } from './saga-module.ts';

// `saga status` is registered here and loaded when it runs: the other commands do not pay for its SDK clients.

const positiveInteger = (value: string): number => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return number;
};

export function registerStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description(
      'what needs a person now: every execution that ended leaving the saga unfinished (a stuck rollback, a run that ' +
        'timed out or was stopped with bookings left), what it still holds, until when it can be redriven, and the ' +
        'command that finishes it',
    )
    .addOption(sagaOption)
    .addOption(
      new Option('--local', 'the saga local running on this machine, on its default ports').conflicts([
        'stack',
        'stateMachineArn',
        'endpointUrl',
        'dynamodbEndpointUrl',
      ]),
    );
  addTargetOptions(command, {
    machines: 'state machines',
    stateMachineArn: "the saga's state machine (default: the one named after the saga at --endpoint-url)",
  })
    .option('--rollback-state-machine-arn <arn>', 'its rollback machine, whose executions are looked at too')
    .option('--json', 'print the executions that need a person as JSON')
    .option(
      '--max-executions <n>',
      'look at no more than this many ended executions of each status, per state machine',
      positiveInteger,
      DEFAULT_MAX_EXECUTIONS,
    )
    .option(
      '--since <days>',
      'look only at executions started in the last DAYS days (default: all Step Functions keeps, 90 days)',
      positiveInteger,
    )
    .addHelpText(
      'after',
      '\nExit status: 0 nothing needs a person; 1 something does, or not everything could be looked at; 2 a bad target.',
    )
    .action(async (options: import('../status/command.ts').StatusOptions & { saga?: string }) => {
      const { status } = await import('../status/command.ts');
      process.exitCode = await status(await deployedSaga(options), options);
    });
}
