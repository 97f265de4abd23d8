#!/usr/bin/env node
/**
 * The `uai-assemble` command: a thin shell over the library. It parses arguments, wires
 * SIGINT to an AbortController, and turns errors into one line on stderr and an exit code.
 */
import { commands } from './commands/index.ts';
import {
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  formatError,
  isOutputClosed,
  type CliIo,
} from './io.ts';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: uai-assemble COMMAND [options]',
    '',
    'Turn a SquashFS root filesystem into an OCI/Docker image and publish it, without root.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'uai-assemble COMMAND --help' for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[], partialIo: Partial<CliIo> = {}): Promise<number> {
  const controller = new AbortController();
  const io: CliIo = {
    stdout: partialIo.stdout ?? process.stdout,
    stderr: partialIo.stderr ?? process.stderr,
    env: partialIo.env ?? process.env,
    cwd: partialIo.cwd ?? process.cwd(),
    signal: partialIo.signal ?? controller.signal,
    isTTY: partialIo.isTTY ?? Boolean(process.stderr.isTTY),
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    controller.abort(Object.assign(new Error(`interrupted by ${sig}`), { code: 'UAI_ABORTED' }));
  };
  const listen = !partialIo.signal;
  if (listen) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(help());
      return name === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (name === '--version' || name === '-V') {
      const { VERSION } = await import('../version.ts');
      io.stdout.write(`uai-assemble ${VERSION}\n`);
      return EXIT_OK;
    }
    const entry = commands.find((c) => c.name === name);
    if (!entry) {
      io.stderr.write(`uai-assemble: unknown command '${name}'\n\n${help()}`);
      return EXIT_USAGE;
    }
    const command = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`usage: ${command.usage}\n`);
      return EXIT_OK;
    }
    try {
      return await command.run(rest, io);
    } catch (err) {
      // `uai-assemble … | head -1`: the reader of stdout went away. Every command stops
      // quietly then, like a GNU tool in a pipeline (Node ignores SIGPIPE, so no 141).
      if (isOutputClosed(err)) return EXIT_OK;
      if (err instanceof UsageError) {
        io.stderr.write(`uai-assemble ${command.name}: ${err.message}\nusage: ${command.usage}\n`);
        return EXIT_USAGE;
      }
      if (io.signal.aborted) {
        io.stderr.write(`uai-assemble ${command.name}: interrupted\n`);
        return EXIT_INTERRUPTED;
      }
      io.stderr.write(`uai-assemble ${command.name}: error: ${formatError(err)}\n`);
      return EXIT_FAILURE;
    }
  } finally {
    if (listen) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
