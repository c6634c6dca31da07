import { Command, CommanderError } from 'commander';
import { UserError } from './core/errors.js';
import { commands } from './commands/index.js';

/** Builds the commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command('nca')
    .description('Neural cellular automata whose rules are generated from sound: encode, render, explore.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .exitOverride()
    // errors are printed once, by main(), as one `nca: ...` line; help still goes to stderr when asked for by an error
    .configureOutput({ writeErr: (s) => process.stderr.write(s), outputError: () => {} });
  for (const register of commands) register(program);
  forEachCommand(program, (cmd) => cmd.exitOverride((e) => {
    throw usageError(e, cmd);
  }));
  return program;
}

function forEachCommand(cmd: Command, visit: (cmd: Command) => void): void {
  visit(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, visit);
}

/** Help and version "errors" are successful exits. */
function isHelpOrVersion(e: CommanderError): boolean {
  return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
}

/**
 * A parse error of commander (unknown option or command, missing value, invalid choice, too many or
 * too few arguments) as a UserError: one line, commander's message without its "error: " prefix,
 * and where to read the usage, e.g. `unknown option '--bogus' (run nca render --help)`.
 */
function usageError(e: CommanderError, cmd: Command): Error {
  if (isHelpOrVersion(e)) return e;
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return new UserError(`${oneLine(e.message)} (run ${names.join(' ')} --help)`);
}

function oneLine(message: string): string {
  return message.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The one place that maps errors to exit codes: a UserError prints its one-line message
 * (exit 2 by default; commander's parse errors arrive as UserErrors, see usageError), help and
 * version exit 0, anything else is a bug: print the stack and ask for a report (exit 70).
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (isHelpOrVersion(e)) return 0;
      process.stderr.write(`nca: ${oneLine(e.message)} (run nca --help)\n`);
      return 2;
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
