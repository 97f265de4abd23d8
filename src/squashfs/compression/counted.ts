/**
 * A copy, in memory V8 allocates and counts, of what a napi-rs codec's async call returns.
 * The buffers those calls hand back (@napi-rs/lzma here) hold native memory that V8's GC
 * does not count towards its external-memory trigger, so on an image of big files, where
 * little else is allocated, full GCs come rarely and that garbage piles up: `tar` of the
 * 1 GiB large-xz benchmark image peaked at 294-330 MB RSS, 272-278 MB with this copy
 * (docs/performance.md, session 2). The copy is counted, so GCs come as often as the
 * data flows and free the native buffers with the rest. It costs one memcpy (~0.1 s per
 * GiB) on runs that spend ~30 CPU-s decoding xz.
 */
export function countedCopy(out: Uint8Array): Uint8Array {
  const copy = new Uint8Array(out.length);
  copy.set(out);
  return copy;
}
