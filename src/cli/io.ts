import type { Writable } from 'node:stream';
import { isUaiError, type Warning } from '../errors.ts';

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Fires on SIGINT/SIGTERM: commands pass it to the library. */
  signal: AbortSignal;
  /** stderr is a terminal: live progress instead of plain lines. */
  isTTY: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (SIGINT). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** A usage mistake: printed with the command's usage line, exit 2. */
export class UsageError extends Error {
  readonly code = 'UAI_CLI_USAGE';
}

export function printWarning(io: CliIo, warning: Warning): void {
  io.stderr.write(`uai-assemble: warning: ${warning.message}\n`);
}

/** One clear line per failure (plus the cause chain's messages, never a stack trace). */
export function formatError(err: unknown): string {
  if (isUaiError(err)) {
    let text = `${err.message} [${err.code}]`;
    let cause = (err as Error).cause;
    const seen = new Set<unknown>();
    while (cause instanceof Error && !seen.has(cause) && !text.includes(cause.message)) {
      seen.add(cause);
      text += `: ${cause.message}`;
      cause = cause.cause;
    }
    return text;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

export async function writeOut(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) {
    await new Promise<void>((resolve, reject) => {
      stream.once('drain', resolve);
      stream.once('error', reject);
    });
  }
}
