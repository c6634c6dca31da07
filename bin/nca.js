#!/usr/bin/env node
import { main } from '../dist/cli.js';
import { installInterruptHandlers } from '../dist/commands/interrupt.js';
import { isClosedPipe, stdoutError } from '../dist/core/io/stdout.js';

// Ctrl-C and SIGTERM: handled from the first moment (src/commands/interrupt.ts).
installInterruptHandlers();

// Standard output errors: `nca ... | head` closes the pipe early, which is not an error (exit 0);
// any other failure (`> /dev/full`) is one line on stderr and exit 2. Writes that go through
// writeStdout (src/core/io/stdout.ts) report the same error themselves; this catches the rest
// (help text, a write whose error is emitted before the command's own error is printed).
process.stdout.on('error', (e) => {
  if (isClosedPipe(e)) process.exit(0);
  process.stderr.write(`nca: ${stdoutError(e).message}\n`);
  process.exit(2);
});
process.exitCode = await main(process.argv);
