import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** What `gatehouse login` leaves behind for one server. Never a password or a client secret. */
export interface CachedCredentials {
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly accessTokenExpiresAt: number;
  /** Empty for client-credentials tokens: those are minted again with `login`. */
  readonly refreshToken: string;
  readonly subject: string;
  readonly kind: "user" | "service_account";
}

type CacheFile = Record<string, CachedCredentials>;

/**
 * `$GATEHOUSE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/gatehouse`, else `~/.config/gatehouse`.
 * The directory is 0700 and the file 0600: tokens are bearer credentials.
 */
export function configDirectory(env: NodeJS.ProcessEnv): string {
  if (env.GATEHOUSE_CONFIG_DIR) return env.GATEHOUSE_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "gatehouse");
}

export class CredentialsCache {
  private readonly path: string;

  constructor(directory: string) {
    this.path = join(directory, "credentials.json");
  }

  async get(server: string): Promise<CachedCredentials | undefined> {
    return (await this.read())[server];
  }

  async put(server: string, credentials: CachedCredentials): Promise<void> {
    const all = await this.read();
    all[server] = credentials;
    await this.write(all);
  }

  async remove(server: string): Promise<boolean> {
    const all = await this.read();
    if (!(server in all)) return false;
    delete all[server];
    await this.write(all);
    return true;
  }

  private async read(): Promise<CacheFile> {
    try {
      return JSON.parse(await readFile(this.path, "utf8")) as CacheFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
  }

  /** Written to a temp file created 0600 and renamed, so the tokens are never readable by others. */
  private async write(all: CacheFile): Promise<void> {
    const directory = dirname(this.path);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
    const temp = `${this.path}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.path);
  }
}
