/**
 * A bounded cache with the SIEVE eviction policy (Zhang et al., NSDI '24), an
 * optional TinyLFU admission filter (Einziger et al., 2017) and a deadline per
 * entry.
 *
 * Entries sit in one queue in insertion order; a hit only sets the entry's
 * visited bit (nothing moves, so a hit costs a Map lookup and a byte write).
 * To make room, a hand walks from the oldest entry towards the newest,
 * clearing visited bits, and evicts the first entry not visited since the hand
 * last passed it (or already past its deadline); the hand stays where it
 * stopped. Entries that are asked for again survive, new ones that are not
 * leave first.
 *
 * SIEVE alone, like LRU and FIFO, never hits a cyclic working set larger than
 * the cache: with nothing visited it evicts in insertion order, each key just
 * before it comes round again. With `hash` given, a full cache admits a new key
 * only if it has been asked for more often (a count-min sketch of recent
 * requests, halved every 10 × capacity requests) than the entry it would
 * evict; an expired victim always gives way. A cycle then keeps the part that
 * fits (hit ratio → capacity ÷ working set, the best any policy does on a
 * cycle), and a flood of keys seen once displaces nothing.
 *
 * The per-entry state lives in parallel arrays indexed by slot (typed arrays
 * for the deadline, visited bit and links), not in a node object per entry.
 */
export class SieveCache<K, V> {
  readonly capacity: number;
  private readonly index = new Map<K, number>();
  private keys: (K | undefined)[] = [];
  private values: (V | undefined)[] = [];
  /** Deadline per slot, on the caller's clock (ms): at or after it the entry is gone. */
  private deadlines: Float64Array;
  private visited: Uint8Array;
  /** Towards the newest entry; -1 at the head. */
  private newer: Int32Array;
  /** Towards the oldest entry; -1 at the tail. */
  private older: Int32Array;
  private head = -1;
  private tail = -1;
  private hand = -1;
  /** Slots below this have been used at least once. */
  private used = 0;
  private readonly free: number[] = [];
  private readonly sketch: FrequencySketch | undefined;
  private readonly hash: ((key: K) => number) | undefined;

  /** `hash`: a well-mixed 32-bit hash of a key, to turn on the admission filter. */
  constructor(capacity: number, options: { hash?: (key: K) => number } = {}) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError("capacity must be a positive integer");
    this.capacity = capacity;
    this.hash = options.hash;
    this.sketch = options.hash === undefined ? undefined : new FrequencySketch(capacity);
    const initial = Math.min(capacity, 1024);
    this.deadlines = new Float64Array(initial);
    this.visited = new Uint8Array(initial);
    this.newer = new Int32Array(initial);
    this.older = new Int32Array(initial);
  }

  get size(): number {
    return this.index.size;
  }

  /** The value, marking the entry visited; undefined if absent or past its deadline (then dropped). */
  get(key: K, now: number): V | undefined {
    if (this.sketch !== undefined) this.sketch.increment(this.hash!(key));
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    if (this.deadlines[slot]! <= now) {
      this.unlink(slot);
      return undefined;
    }
    this.visited[slot] = 1;
    return this.values[slot];
  }

  /**
   * Remembers the value until `deadline` (exclusive); a deadline not after
   * `now` stores nothing, nor does a full cache whose admission filter turns
   * the key away. Returns whether it is stored.
   */
  set(key: K, value: V, deadline: number, now: number): boolean {
    const existing = this.index.get(key);
    if (existing !== undefined) {
      if (deadline <= now) {
        this.unlink(existing);
        return false;
      }
      this.values[existing] = value;
      this.deadlines[existing] = deadline;
      return true;
    }
    if (deadline <= now) return false;
    let slot: number;
    if (this.index.size < this.capacity) slot = this.allocate();
    else {
      slot = this.victim(now);
      if (!this.admits(key, slot, now)) return false;
      this.unlink(slot);
      this.free.pop(); // unlink pushed it: it is reused at once
    }
    this.keys[slot] = key;
    this.values[slot] = value;
    this.deadlines[slot] = deadline;
    this.visited[slot] = 0;
    this.older[slot] = this.head;
    this.newer[slot] = -1;
    if (this.head !== -1) this.newer[this.head] = slot;
    this.head = slot;
    if (this.tail === -1) this.tail = slot;
    this.index.set(key, slot);
    return true;
  }

  delete(key: K): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.unlink(slot);
    return true;
  }

  clear(): void {
    this.index.clear();
    this.keys = [];
    this.values = [];
    this.free.length = 0;
    this.head = this.tail = this.hand = -1;
    this.used = 0;
  }

  /**
   * The SIEVE sweep: the first entry from the hand on not visited since the
   * hand last passed it, or expired (the cache is full, so never empty). The
   * hand stops on it; unlinking it moves the hand on towards the newer entries.
   */
  private victim(now: number): number {
    let slot = this.hand === -1 ? this.tail : this.hand;
    while (this.visited[slot] === 1 && this.deadlines[slot]! > now) {
      this.visited[slot] = 0;
      slot = this.newer[slot] === -1 ? this.tail : this.newer[slot]!;
    }
    this.hand = slot;
    return slot;
  }

  private admits(key: K, victim: number, now: number): boolean {
    if (this.sketch === undefined || this.deadlines[victim]! <= now) return true;
    return this.sketch.estimate(this.hash!(key)) > this.sketch.estimate(this.hash!(this.keys[victim]!));
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.deadlines.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const length = Math.min(this.capacity, this.deadlines.length * 2);
    const grown = <T extends Float64Array | Uint8Array | Int32Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.deadlines = grown(this.deadlines, new Float64Array(length));
    this.visited = grown(this.visited, new Uint8Array(length));
    this.newer = grown(this.newer, new Int32Array(length));
    this.older = grown(this.older, new Int32Array(length));
  }

  /** Takes the slot out of the queue and the index, moving the hand off it. */
  private unlink(slot: number): void {
    const newer = this.newer[slot]!;
    const older = this.older[slot]!;
    if (this.hand === slot) this.hand = newer;
    if (newer === -1) this.head = older;
    else this.older[newer] = older;
    if (older === -1) this.tail = newer;
    else this.newer[older] = newer;
    this.index.delete(this.keys[slot]!);
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.free.push(slot);
  }
}

/**
 * How often each key was asked for recently, approximately: four rows of
 * 4-bit-range counters (a byte each) indexed by differently mixed hashes; the
 * estimate is the smallest. Every 10 × capacity increments all counters are
 * halved, so old popularity fades.
 */
class FrequencySketch {
  private readonly counters: Uint8Array;
  private readonly mask: number;
  private readonly width: number;
  private readonly resetAfter: number;
  private additions = 0;

  constructor(capacity: number) {
    let width = 16;
    while (width < 4 * capacity) width *= 2;
    this.width = width;
    this.mask = width - 1;
    this.counters = new Uint8Array(width * ROW_SEEDS.length);
    this.resetAfter = 10 * capacity;
  }

  increment(hash: number): void {
    for (let row = 0; row < ROW_SEEDS.length; row++) {
      const at = row * this.width + this.indexOf(hash, row);
      if (this.counters[at]! < 15) this.counters[at] = this.counters[at]! + 1;
    }
    if (++this.additions >= this.resetAfter) {
      for (let at = 0; at < this.counters.length; at++) this.counters[at] = this.counters[at]! >>> 1;
      this.additions >>>= 1;
    }
  }

  estimate(hash: number): number {
    let least = 15;
    for (let row = 0; row < ROW_SEEDS.length; row++) {
      least = Math.min(least, this.counters[row * this.width + this.indexOf(hash, row)]!);
    }
    return least;
  }

  private indexOf(hash: number, row: number): number {
    let mixed = Math.imul(hash ^ ROW_SEEDS[row]!, 0x9e3779b1);
    mixed ^= mixed >>> 15;
    mixed = Math.imul(mixed, 0x85ebca77);
    mixed ^= mixed >>> 13;
    return mixed & this.mask;
  }
}

const ROW_SEEDS = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];
