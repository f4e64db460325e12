import { Command, CommanderError } from 'commander';
import { StackSettingsError } from '../infra/settings.ts';
import { errorLine, Exit, isFileError, UsageError } from './io.ts';

type Registers = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs: `saga asl` loads asl/ and the saga file, not the local
 * mode, Pulumi or the AWS SDK. In the order `saga --help` lists them.
 */
const renderCommands = async (): Promise<Registers> => (await import('./render-commands.ts')).registerRenderCommands;
const localCommands = async (): Promise<Registers> => (await import('./local-commands.ts')).registerLocalCommands;
const COMMANDS: Readonly<Record<string, () => Promise<Registers>>> = {
  asl: renderCommands,
  validate: renderCommands,
  graph: renderCommands,
  cost: renderCommands,
  run: localCommands,
  resume: localCommands,
  local: localCommands,
  tour: localCommands,
  verify: async () => (await import('./verify.ts')).registerVerifyCommand,
  status: async () => (await import('./status.ts')).registerStatusCommand,
  diff: async () => (await import('./diff.ts')).registerDiffCommand,
};

const program = new Command('saga')
  .description(
    "A saga as an AWS Step Functions state machine, from its step list: saga.ts (the project's own), or the default export of " +
      'the module every command takes with --saga FILE',
  )
  // Read before commander parses, so that it is accepted anywhere on the command line.
  .option('--debug', 'show the stack trace of an unexpected error')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

const debug = process.argv.includes('--debug');
const args = process.argv.filter((arg) => arg !== '--debug');

// The command named, alone; every command for anything else (help, a typo that commander then names).
const named = COMMANDS[args.slice(2).find((arg) => !arg.startsWith('-')) ?? ''];
const loaders = named === undefined ? Object.values(COMMANDS) : [named];
for (const registers of new Set(await Promise.all(loaders.map((load) => load())))) registers(program);

/**
 * Whether an error is a refusal a user can act on (exit 2) that a command's own module defines: that module was
 * loaded, since the error came from it; it is loaded here only to be told apart.
 */
async function isCommandUsageError(error: unknown): Promise<boolean> {
  const { DataDirInUseError, ExecutionNameError, ExecutionNotRedrivableError } = await import('../local/runtime.ts');
  return error instanceof ExecutionNameError || error instanceof ExecutionNotRedrivableError || error instanceof DataDirInUseError;
}

/** Whether an error refuses a deployed target (exit 2, named): verify's and status's. */
async function isTargetError(error: unknown): Promise<boolean> {
  const { EndpointUnreachableError, NotADevelopmentStackError, PulumiMissingError, VerifyTargetError } =
    await import('../verify/target.ts');
  return (
    error instanceof VerifyTargetError ||
    error instanceof EndpointUnreachableError ||
    error instanceof NotADevelopmentStackError ||
    error instanceof PulumiMissingError
  );
}

// A reader that stops early (`saga tour | head`) closes standard output: the command ends there, quietly.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? Exit.ok);
  });

try {
  await program.parseAsync(args);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? Exit.ok : Exit.usage;
  } else if (error instanceof UsageError || isFileError(error) || (await isCommandUsageError(error))) {
    process.stderr.write(`saga: ${(error as Error).message}\n`);
    process.exitCode = Exit.usage;
  } else if (await isTargetError(error)) {
    // Named, so that a script can tell a refused target from an unreachable one: nothing was run.
    process.stderr.write(`saga: ${(error as Error).name}: ${(error as Error).message}\n`);
    process.exitCode = Exit.usage;
  } else if (error instanceof StackSettingsError || (error instanceof Error && 'problems' in error)) {
    process.stderr.write(`saga: ${error.name}: ${error.message}\n`);
    process.exitCode = Exit.invalid;
  } else {
    // A fault of this program or of what it runs on: said in one line; where it happened, on request.
    process.stderr.write(`saga: ${errorLine(error)}\n`);
    if (!debug) process.stderr.write('saga: run again with --debug for the stack trace\n');
    process.exitCode = Exit.invalid;
  }
  // Where any error reported came from, on request: a refusal's too, for a bug report.
  if (debug && error instanceof Error && !(error instanceof CommanderError)) process.stderr.write(`${error.stack ?? ''}\n`);
}
