/**
 * Small byte strings (entry paths) carved out of shared 64 KiB slabs, the way Node's
 * Buffer pool does it. A `new Uint8Array(n)` over 64 bytes gets its own malloc'ed backing
 * store, registered with V8 and swept by the GC one by one; on a 102k-entry walk those
 * path copies were a visible share of the walk's time and of its garbage. A slab stays
 * alive while any string cut from it does, so use it only for small, many, similar-lived
 * strings.
 */
const SLAB_SIZE = 64 * 1024;
/** Strings longer than this get their own buffer (a slab would waste too much room). */
const MAX_SLAB_STRING = 4096;

export class ByteSlab {
  #slab = new Uint8Array(0);
  #used = 0;

  /** `length` bytes for the caller to fill (zeroed only if fresh). */
  alloc(length: number): Uint8Array {
    if (length > MAX_SLAB_STRING) return new Uint8Array(length);
    if (this.#used + length > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      this.#used = 0;
    }
    const out = this.#slab.subarray(this.#used, this.#used + length);
    this.#used += length;
    return out;
  }
}
