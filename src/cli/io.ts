import type { Writable } from 'node:stream';
import { UaiError, isUaiError, type Warning } from '../errors.ts';

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

/**
 * The reader of an output went away (EPIPE: `ls IMAGE | head -1`). Commands end quietly
 * with exit 0 on it when the output is stdout, as a GNU tool in a pipeline stops (they die
 * by SIGPIPE; Node ignores SIGPIPE, so the CLI stops on the EPIPE error instead).
 */
export class OutputClosedError extends UaiError {
  constructor(options?: { cause?: unknown }) {
    super('UAI_CLI_OUTPUT_CLOSED', 'the output was closed by its reader (EPIPE)', options);
  }
}

/** True for the quiet stop of a closed stdout pipe. */
export function isOutputClosed(err: unknown): err is OutputClosedError {
  return err instanceof OutputClosedError;
}

interface Watch {
  error: Error | undefined;
  wake: Set<() => void>;
}
const watches = new WeakMap<Writable, Watch>();

/**
 * One 'error', 'drain' and 'close' listener per output stream, kept for the stream's whole life:
 * a closed pipe may report EPIPE after a write that returned true, and writes still queued
 * when a stream is destroyed report errors later; without a listener either one would be
 * an unhandled 'error' event that kills the process with a stack trace.
 */
function watch(stream: Writable): Watch {
  let w = watches.get(stream);
  if (w) return w;
  const state: Watch = { error: undefined, wake: new Set() };
  const wakeAll = () => {
    for (const fn of state.wake) fn();
  };
  stream.on('error', (err: Error) => {
    state.error ??= err;
    wakeAll();
  });
  stream.on('drain', wakeAll);
  stream.on('close', wakeAll);
  watches.set(stream, state);
  return state;
}

/** The error a stream has reported (or its being closed); EPIPE becomes OutputClosedError. */
function outputError(stream: Writable, w: Watch): Error | undefined {
  const err = w.error ?? stream.errored ?? (stream.destroyed || stream.writableEnded ? Object.assign(new Error('write after the output was closed'), { code: 'ERR_STREAM_DESTROYED' }) : undefined);
  if (err === undefined) return undefined;
  if ((err as { code?: unknown }).code === 'EPIPE' || (w.error === undefined && !stream.errored && stream.destroyed)) return new OutputClosedError({ cause: err });
  return err;
}

/** Writes one chunk and waits while the stream's buffer is full; throws what the stream reports. */
export async function writeChunk(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  const w = watch(stream);
  let err = outputError(stream, w);
  if (err) throw err;
  if (stream.write(chunk)) return;
  while (stream.writableNeedDrain && !stream.destroyed && w.error === undefined) {
    await new Promise<void>((resolveWait) => {
      const done = () => {
        w.wake.delete(done);
        resolveWait();
      };
      w.wake.add(done);
      // Re-check after registering: the event may have fired before.
      if (!stream.writableNeedDrain || stream.destroyed || w.error !== undefined) done();
    });
  }
  err = outputError(stream, w);
  if (err) throw err;
}

/** Text to an output (stdout, stderr); see `writeChunk`. */
export async function writeOut(stream: Writable, text: string): Promise<void> {
  await writeChunk(stream, text);
}

/** Copies a byte stream to an output, checking `signal` between chunks. */
export async function writeAll(chunks: AsyncIterable<Uint8Array>, out: Writable, signal?: AbortSignal): Promise<void> {
  for await (const chunk of chunks) {
    await writeChunk(out, chunk);
    signal?.throwIfAborted();
  }
  const err = outputError(out, watch(out));
  if (err) throw err;
}
