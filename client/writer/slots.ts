// The records a writer holds as written: a FIFO of slots in fixed blocks of 4,096.
// Blocks, not one growing array: V8 keeps an array made by `new Array(n)` past 100,000
// elements as a dictionary, whose every load and store is several times slower, and
// growing one array copies it all.

const BLOCK_BITS = 12;
const BLOCK = 1 << BLOCK_BITS;
const MASK = BLOCK - 1;

/** A record as written. */
export type Item = string | Uint8Array;

/** A FIFO of records as written, indexed from the head. */
export class Slots {
  #blocks: (Item | undefined)[][] = [new Array(BLOCK)];
  /** Index of the head record in the first block. */
  #first = 0;
  #count = 0;
  /** An emptied block kept for reuse. */
  #spare: (Item | undefined)[] | null = null;

  /** Records held. */
  get count(): number {
    return this.#count;
  }

  /** Adds a record at the tail. */
  push(item: Item): void {
    const position = this.#first + this.#count;
    const block = position >> BLOCK_BITS;
    if (block === this.#blocks.length) this.#blocks.push(this.#newBlock());
    this.#blocks[block]![position & MASK] = item;
    this.#count++;
  }

  /** The record `i` places from the head. */
  at(i: number): Item {
    const position = this.#first + i;
    return this.#blocks[position >> BLOCK_BITS]![position & MASK]!;
  }

  /** Lets go of the `count` records at the head. */
  drop(count: number): void {
    for (let i = 0; i < count; i++) {
      const position = this.#first + i;
      this.#blocks[position >> BLOCK_BITS]![position & MASK] = undefined;
    }
    this.#first += count;
    this.#count -= count;
    while (this.#first >= BLOCK) {
      this.#spare = this.#blocks.shift()!;
      this.#first -= BLOCK;
    }
    if (this.#blocks.length === 0) this.#blocks.push(this.#newBlock());
    if (this.#count === 0) this.#first = 0;
  }

  #newBlock(): (Item | undefined)[] {
    const block = this.#spare ?? new Array(BLOCK);
    this.#spare = null;
    return block;
  }
}
