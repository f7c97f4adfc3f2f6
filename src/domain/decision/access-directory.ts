import { LRUCache } from "lru-cache";
import type { ChangeFeed } from "../change-feed/change-feed.ts";
import type { AccessRepository, SubjectAccess } from "./subject-access.ts";

const MISSING = Symbol("missing");
type Cached = SubjectAccess | typeof MISSING;

/**
 * Subjects' access, cached in memory (bounded LRU) and dropped the moment the
 * change feed says a subject changed, on every replica. Loads racing with an
 * invalidation are discarded rather than cached, so a stale answer never
 * outlives the change that made it stale.
 */
export class AccessDirectory {
  private readonly repository: AccessRepository;
  private readonly cache: LRUCache<string, Cached>;
  private readonly loads = new Map<string, Promise<SubjectAccess | undefined>>();
  private readonly subjectGenerations = new Map<string, number>();
  private globalGeneration = 0;

  constructor(
    repository: AccessRepository,
    feed: ChangeFeed,
    options: { maxEntries: number; ttlMs: number },
  ) {
    this.repository = repository;
    this.cache = new LRUCache<string, Cached>({ max: Math.max(1, options.maxEntries), ttl: options.ttlMs });
    feed.onChange((event) => {
      if (event.kind !== "access_changed" && event.kind !== "subject_cutoff") return;
      if (event.key === "*") {
        this.globalGeneration++;
        this.cache.clear();
      } else {
        this.subjectGenerations.set(event.key, (this.subjectGenerations.get(event.key) ?? 0) + 1);
        this.cache.delete(`user:${event.key}`);
        this.cache.delete(`service_account:${event.key}`);
      }
    });
  }

  private generationOf(id: string): string {
    return `${this.globalGeneration}.${this.subjectGenerations.get(id) ?? 0}`;
  }

  async get(kind: SubjectAccess["kind"], id: string): Promise<SubjectAccess | undefined> {
    const key = `${kind}:${id}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached === MISSING ? undefined : cached;
    let load = this.loads.get(key);
    if (load === undefined) {
      const generation = this.generationOf(id);
      load = (kind === "user" ? this.repository.loadUser(id) : this.repository.loadServiceAccount(id)).then(
        (access) => {
          if (this.generationOf(id) === generation) this.cache.set(key, access ?? MISSING);
          return access;
        },
      );
      const settled = load.finally(() => this.loads.delete(key));
      settled.catch(() => {});
      this.loads.set(key, load);
    }
    return load;
  }

  /** How much longer (ms) the subject's access is answered from memory; 0 when it is not. */
  remainingMs(kind: SubjectAccess["kind"], id: string): number {
    return this.cache.getRemainingTTL(`${kind}:${id}`);
  }

  size(): number {
    return this.cache.size;
  }
}
