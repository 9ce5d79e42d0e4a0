/**
 * An append-only record of the bytes of one connection, kept as the chunks they arrived in, addressed by absolute offset.
 * Keeping chunks (instead of concatenating on every arrival) makes appending O(1) and lets the parser resume where it
 * stopped; a contiguous Buffer is built only when someone asks for one.
 */
export class ByteLog {
  private readonly chunks: Buffer[] = [];
  /** Absolute offset of the first byte of each chunk. */
  private readonly starts: number[] = [];
  private total = 0;
  private joined: Buffer | null = null;
  /** The chunk index of the last lookup: the parser reads forward, so the next lookup is usually in the same chunk. */
  private hint = 0;

  get length(): number {
    return this.total;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.starts.push(this.total);
    this.total += chunk.length;
    this.joined = null;
  }

  /** Every byte appended so far, as one Buffer (cached until the next append). */
  all(): Buffer {
    if (!this.joined) this.joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    return this.joined;
  }

  /** The byte at `offset`, which must be below `length`. */
  byteAt(offset: number): number {
    const index = this.locate(offset);
    return this.chunks[index]![offset - this.starts[index]!]!;
  }

  /** The offset of the first `byte` in [from, to), or -1. */
  indexOf(byte: number, from: number, to: number): number {
    const end = Math.min(to, this.total);
    if (from >= end) return -1;
    for (let index = this.locate(from); index < this.chunks.length && this.starts[index]! < end; index++) {
      const base = this.starts[index]!;
      const found = this.chunks[index]!.indexOf(byte, Math.max(0, from - base));
      if (found >= 0) return base + found < end ? base + found : -1;
    }
    return -1;
  }

  /** The bytes in [from, to); shares memory with the recorded chunks when the range lies in one chunk. */
  slice(from: number, to: number): Buffer {
    const end = Math.min(to, this.total);
    if (from >= end) return Buffer.alloc(0);
    const first = this.locate(from);
    const firstBase = this.starts[first]!;
    const firstChunk = this.chunks[first]!;
    if (end <= firstBase + firstChunk.length) return firstChunk.subarray(from - firstBase, end - firstBase);
    const parts: Buffer[] = [firstChunk.subarray(from - firstBase)];
    for (let index = first + 1; index < this.chunks.length && this.starts[index]! < end; index++) {
      parts.push(this.chunks[index]!.subarray(0, end - this.starts[index]!));
    }
    return Buffer.concat(parts, end - from);
  }

  /** Joins several ranges into one Buffer (a chunked body's data pieces). */
  gather(ranges: ReadonlyArray<readonly [number, number]>): Buffer {
    return Buffer.concat(ranges.map(([from, to]) => this.slice(from, to)));
  }

  private locate(offset: number): number {
    const hinted = this.hint;
    if (hinted < this.chunks.length && offset >= this.starts[hinted]! && offset < this.starts[hinted]! + this.chunks[hinted]!.length) {
      return hinted;
    }
    let low = 0;
    let high = this.chunks.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    this.hint = low;
    return low;
  }
}
