import { type Algorithm, hash, parseOptions, verify } from "@node-rs/argon2";

export interface Argon2Parameters {
  /** m: KiB of memory per hash. */
  readonly memoryKib: number;
  /** t: passes over memory. */
  readonly iterations: number;
  /** p: lanes. */
  readonly parallelism: number;
}

// Algorithm.Argon2id; the enum is `const` in the typings, which erasable TypeScript cannot import.
const ARGON2ID = 2 as Algorithm;

/**
 * argon2id password hashes in PHC format ($argon2id$v=19$m=…,t=…,p=…$salt$hash,
 * 16-byte random salt, 32-byte output). Hashing runs on libuv's thread pool
 * (@node-rs/argon2's async API), never on the event loop; the pool has 4
 * threads unless UV_THREADPOOL_SIZE says otherwise, which bounds the memory in
 * use at once to 4 × m.
 */
export class PasswordHasher {
  private readonly parameters: Argon2Parameters;
  /** A hash of nothing in particular, verified when an account does not exist so that both take as long. */
  private dummyHash: Promise<string> | undefined;

  constructor(parameters: Argon2Parameters) {
    this.parameters = parameters;
  }

  private options() {
    return {
      algorithm: ARGON2ID,
      memoryCost: this.parameters.memoryKib,
      timeCost: this.parameters.iterations,
      parallelism: this.parameters.parallelism,
      outputLen: 32,
    };
  }

  hash(password: string): Promise<string> {
    return hash(password, this.options());
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      // A malformed stored hash matches nothing.
      return false;
    }
  }

  /** Spends the time a real verification takes, for accounts that do not exist. */
  async verifyNothing(password: string): Promise<void> {
    this.dummyHash ??= this.hash("gatehouse: no such account");
    await this.verify(await this.dummyHash, password);
  }

  /** True when the hash was made with other parameters (or another algorithm) than today's. */
  needsRehash(passwordHash: string): boolean {
    try {
      const used = parseOptions(passwordHash);
      return (
        used.algorithm !== ARGON2ID ||
        used.memoryCost !== this.parameters.memoryKib ||
        used.timeCost !== this.parameters.iterations ||
        used.parallelism !== this.parameters.parallelism
      );
    } catch {
      return true;
    }
  }
}
