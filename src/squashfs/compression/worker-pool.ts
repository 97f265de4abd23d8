/**
 * A small pool of worker threads for the decoders written in TypeScript (LZO1X, and the
 * LZ4 fallback), so that `decompress()` is really parallel like the native codecs. One
 * pool per process, created on first use, as many workers as cores (at most 4); the
 * workers are unref'd so an idle pool never keeps the process alive. A worker that dies
 * fails its pending jobs with `UAI_SQFS_DECOMPRESS` and is replaced on the next job.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { JobReply, JobRequest } from './js-worker.ts';

interface Pending {
  resolve: (out: Uint8Array) => void;
  reject: (reason: string) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './js-worker.ts' : './js-worker.js', import.meta.url);
const SIZE = Math.max(1, Math.min(4, availableParallelism()));
const slots: Array<Slot | undefined> = [];
let nextId = 1;

function spawn(index: number): Slot {
  const worker = new Worker(WORKER_URL);
  const slot: Slot = { worker, pending: new Map() };
  const failAll = (reason: string): void => {
    if (slots[index] === slot) slots[index] = undefined;
    for (const p of slot.pending.values()) p.reject(reason);
    slot.pending.clear();
  };
  worker.on('message', (reply: JobReply) => {
    const p = slot.pending.get(reply.id);
    if (!p) return;
    slot.pending.delete(reply.id);
    if (slot.pending.size === 0) worker.unref();
    if ('error' in reply) p.reject(reply.error);
    else p.resolve(reply.output);
  });
  worker.on('error', (err) => failAll(`decoder worker failed: ${err.message}`));
  worker.on('exit', (code) => failAll(`decoder worker exited with code ${code}`));
  worker.unref();
  slots[index] = slot;
  return slot;
}

/** The slot with the fewest jobs in flight (spawning empty slots first). */
function pick(): Slot {
  let best: Slot | undefined;
  for (let i = 0; i < SIZE; i++) {
    const slot = slots[i];
    if (!slot) return spawn(i);
    if (!best || slot.pending.size < best.pending.size) best = slot;
  }
  return best!;
}

/**
 * Decodes `input` in a worker. The input is copied (the caller's buffer may be shared
 * with a cache), the output is transferred back. Rejects with the decoder's reason.
 */
export function runInWorker(codec: JobRequest['codec'], input: Uint8Array, maxOutput: number): Promise<Uint8Array> {
  const slot = pick();
  const id = nextId++;
  const copy = new Uint8Array(input); // a real copy: Buffer#slice would share (and detach) the caller's memory
  return new Promise((resolve, reject) => {
    slot.pending.set(id, { resolve, reject: (reason) => reject(new Error(reason)) });
    slot.worker.ref();
    const job: JobRequest = { id, codec, input: copy, maxOutput };
    slot.worker.postMessage(job, [copy.buffer]);
  });
}

/** Stops the pool's workers (tests and short-lived tools; the pool restarts on demand). */
export async function stopDecoderWorkers(): Promise<void> {
  const running = slots.splice(0, slots.length).filter((s): s is Slot => s !== undefined);
  await Promise.all(running.map((s) => s.worker.terminate()));
}

/** How many decoder workers are running (tests check that async calls spread over them). */
export function decoderWorkersRunning(): number {
  return slots.filter((s) => s !== undefined).length;
}

/** The pool size: one worker per core, at most 4. */
export const DECODER_WORKERS = SIZE;
