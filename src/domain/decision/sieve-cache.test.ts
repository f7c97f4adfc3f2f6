import { LRUCache } from "lru-cache";
import { describe, expect, it } from "vitest";
import { SieveCache } from "./sieve-cache.ts";

const NOW = 1_000;
const LATER = NOW + 60_000;

function filled(capacity: number, keys: string[]): SieveCache<string, string> {
  const cache = new SieveCache<string, string>(capacity);
  for (const key of keys) cache.set(key, `v${key}`, LATER, NOW);
  return cache;
}

const present = (cache: SieveCache<string, string>, keys: string[]) =>
  keys.filter((key) => cache.get(key, NOW) !== undefined);

describe("SieveCache", () => {
  it("holds at most its capacity", () => {
    const cache = new SieveCache<number, number>(100);
    for (let i = 0; i < 10_000; i++) {
      cache.set(i, i, LATER, NOW);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.size).toBe(100);
  });

  it("evicts the oldest entry when none was visited", () => {
    const cache = filled(3, ["a", "b", "c"]);
    cache.set("d", "vd", LATER, NOW);
    expect(cache.get("a", NOW)).toBeUndefined();
    expect(cache.get("d", NOW)).toBe("vd");
    expect(cache.size).toBe(3);
  });

  it("keeps a visited entry and evicts the next unvisited one", () => {
    const cache = filled(3, ["a", "b", "c"]);
    expect(cache.get("a", NOW)).toBe("va");
    cache.set("d", "vd", LATER, NOW);
    // The hand passed a (clearing its mark) and evicted b.
    expect(cache.get("b", NOW)).toBeUndefined();
    expect(present(cache, ["a", "c", "d"])).toEqual(["a", "c", "d"]);
  });

  it("clears the marks it passes and resumes where it stopped", () => {
    const cache = filled(4, ["a", "b", "c", "d"]);
    cache.get("a", NOW);
    cache.get("b", NOW);
    cache.set("e", "ve", LATER, NOW); // passes a, b; evicts c
    expect(present(cache, ["c"])).toEqual([]);
    // The hand moved on to d: d goes next, then e, though a and b are older.
    cache.set("f", "vf", LATER, NOW);
    expect(present(cache, ["d"])).toEqual([]);
    cache.set("g", "vg", LATER, NOW);
    expect(present(cache, ["a", "b", "e", "f", "g"])).toEqual(["a", "b", "f", "g"]);
    // present() just marked a, b, f and g: the hand (at f) clears f and g, wraps
    // to the oldest, clears a and b, and comes back to f, unmarked now.
    cache.set("h", "vh", LATER, NOW);
    expect(present(cache, ["a", "b", "f", "g", "h"])).toEqual(["a", "b", "g", "h"]);
  });

  it("wraps around when every entry is visited, evicting the oldest", () => {
    const cache = filled(3, ["a", "b", "c"]);
    for (const key of ["a", "b", "c"]) cache.get(key, NOW);
    cache.set("d", "vd", LATER, NOW);
    expect(present(cache, ["a", "b", "c", "d"])).toEqual(["b", "c", "d"]);
  });

  it("forgets an entry at its deadline, and evicts an expired entry before an unvisited one", () => {
    const cache = new SieveCache<string, string>(3);
    cache.set("a", "va", NOW + 10, NOW);
    cache.set("b", "vb", LATER, NOW);
    expect(cache.get("a", NOW + 9)).toBe("va");
    expect(cache.get("a", NOW + 10)).toBeUndefined();
    expect(cache.size).toBe(1);

    cache.set("x", "vx", LATER, NOW);
    cache.set("y", "vy", NOW + 10, NOW);
    cache.get("b", NOW);
    cache.get("x", NOW);
    cache.get("y", NOW);
    // All visited; y has expired by NOW + 20, so it goes instead of the oldest.
    cache.set("z", "vz", LATER, NOW + 20);
    expect(cache.get("b", NOW + 20)).toBe("vb");
    expect(cache.get("x", NOW + 20)).toBe("vx");
    expect(cache.get("y", NOW + 20)).toBeUndefined();
  });

  it("stores nothing with a deadline already passed, and updates an existing entry in place", () => {
    const cache = new SieveCache<string, string>(2);
    cache.set("a", "va", NOW, NOW);
    expect(cache.size).toBe(0);
    cache.set("a", "va", LATER, NOW);
    cache.set("a", "va2", LATER, NOW);
    expect(cache.size).toBe(1);
    expect(cache.get("a", NOW)).toBe("va2");
    cache.set("a", "va3", NOW, NOW);
    expect(cache.get("a", NOW)).toBeUndefined();
  });

  it("deletes, clears and reuses freed slots", () => {
    const cache = filled(3, ["a", "b", "c"]);
    expect(cache.delete("b")).toBe(true);
    expect(cache.delete("b")).toBe(false);
    cache.set("d", "vd", LATER, NOW);
    expect(present(cache, ["a", "c", "d"])).toEqual(["a", "c", "d"]);
    cache.clear();
    expect(cache.size).toBe(0);
    cache.set("e", "ve", LATER, NOW);
    expect(present(cache, ["a", "e"])).toEqual(["e"]);
  });

  it("grows its slot arrays past the initial allocation", () => {
    const cache = new SieveCache<number, number>(5_000);
    for (let i = 0; i < 5_000; i++) cache.set(i, i, LATER, NOW);
    let hits = 0;
    for (let i = 0; i < 5_000; i++) if (cache.get(i, NOW) === i) hits++;
    expect(hits).toBe(5_000);
  });

  describe("with the admission filter", () => {
    const hashOf = (key: string) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
      return h;
    };
    /** One request as the decision engine makes it: a lookup, and on a miss a store. */
    const request = (cache: SieveCache<string, string>, key: string, now = NOW) =>
      cache.get(key, now) !== undefined || cache.set(key, `v${key}`, LATER, now);

    it("fills freely, then admits a key only once asked for more often than its victim", () => {
      const cache = new SieveCache<string, string>(3, { hash: hashOf });
      for (const key of ["a", "b", "c"]) expect(request(cache, key)).toBe(true);
      // d asked for once, as often as a (the victim): turned away, a kept.
      expect(request(cache, "d")).toBe(false);
      expect(cache.size).toBe(3);
      // Asked again: more often than a, so it replaces a.
      expect(request(cache, "d")).toBe(true);
      expect(present(cache, ["a", "b", "c", "d"])).toEqual(["b", "c", "d"]);
    });

    it("lets any key replace an expired victim", () => {
      const cache = new SieveCache<string, string>(2, { hash: hashOf });
      cache.get("a", NOW);
      cache.set("a", "va", NOW + 10, NOW);
      request(cache, "b");
      expect(request(cache, "c", NOW + 10)).toBe(true);
      expect(present(cache, ["a", "b", "c"])).toEqual(["b", "c"]);
    });

    it("does not let a flood of keys seen once displace the keys in use", () => {
      const cache = new SieveCache<string, string>(100, { hash: hashOf });
      const hot = Array.from({ length: 100 }, (_, i) => `hot${i}`);
      let flooded = 0;
      for (let round = 0; round < 100; round++) {
        for (const key of hot) request(cache, key);
        for (let i = 0; i < 100; i++) request(cache, `flood${flooded++}`);
      }
      expect(present(cache, hot)).toHaveLength(100);
    });
  });

  it("keeps hitting a cyclic working set of 1.5× its capacity, where LRU (and SIEVE alone) never hits", () => {
    const capacity = 10_000;
    const workingSet = capacity * 1.5;
    const rounds = 5;
    const hash = (key: number) => Math.imul(key, 0x9e3779b1);
    const caches = {
      lru: new LRUCache<number, number>({ max: capacity }),
      sieveAlone: new SieveCache<number, number>(capacity),
      sieve: new SieveCache<number, number>(capacity, { hash }),
    };
    const hits = { lru: 0, sieveAlone: 0, sieve: 0 };
    let requests = 0;
    for (let round = 0; round < rounds; round++) {
      for (let key = 0; key < workingSet; key++) {
        requests++;
        if (caches.lru.get(key) !== undefined) hits.lru++;
        else caches.lru.set(key, key);
        for (const name of ["sieveAlone", "sieve"] as const) {
          if (caches[name].get(key, NOW) !== undefined) hits[name]++;
          else caches[name].set(key, key, LATER, NOW);
        }
      }
    }
    // The first round misses by necessity; measure the replays after it.
    const replayed = requests - workingSet;
    const ratio = (name: keyof typeof hits) => hits[name] / replayed;
    console.log(
      `cyclic working set ${workingSet} over capacity ${capacity}, ${rounds - 1} replays: hit ratio ` +
        `SIEVE + admission ${ratio("sieve").toFixed(3)}, SIEVE alone ${ratio("sieveAlone").toFixed(3)}, LRU ${ratio("lru").toFixed(3)} ` +
        `(best possible ≈ ${(capacity / workingSet).toFixed(3)})`,
    );
    expect(ratio("lru")).toBe(0);
    expect(ratio("sieve")).toBeGreaterThanOrEqual(0.5);
    expect(caches.sieve.size).toBe(capacity);
  });
});
