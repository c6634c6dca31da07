import { Command, CommanderError } from 'commander';
import { UserError } from './core/errors.js';
import { commands } from './commands/index.js';

/** Builds the commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command('nca')
    .description('Neural cellular automata whose rules are generated from sound: encode, render, explore.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of commands) register(program);
  return program;
}

/**
 * The one place that maps errors to exit codes: a UserError prints its one-line message
 * (exit 2 by default), a commander parse error keeps commander's message and code, anything else
 * is a bug: print the stack and ask for a report (exit 70).
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are successful exits
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : e.exitCode || 2;
    }
    if (e instanceof UserError) {
      process.stderr.write(`nca: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof Error && e.name === 'AbortError') {
      process.stderr.write('nca: interrupted\n');
      return 130;
    }
    process.stderr.write(`nca: internal error (please report it with the command you ran)\n${e instanceof Error ? e.stack : String(e)}\n`);
    return 70;
  }
}
