/**
 * The worker side of `worker-pool.ts`: runs one of our pure-TypeScript block decoders off
 * the main thread. Node >= 22.18 strips the types of this .ts file itself; the built
 * package runs the compiled .js beside it.
 */
import { parentPort } from 'node:worker_threads';
import { lzo1xDecompress } from './lzo1x.ts';
import { lz4BlockDecompress } from './lz4-block.ts';

export interface JobRequest {
  id: number;
  codec: 'lzo' | 'lz4';
  input: Uint8Array;
  maxOutput: number;
}

export type JobReply = { id: number; output: Uint8Array } | { id: number; error: string };

parentPort?.on('message', (job: JobRequest) => {
  let reply: JobReply;
  try {
    const decode = job.codec === 'lzo' ? lzo1xDecompress : lz4BlockDecompress;
    reply = { id: job.id, output: decode(job.input, job.maxOutput) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  const transfer = 'output' in reply ? [reply.output.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(reply, transfer);
});
