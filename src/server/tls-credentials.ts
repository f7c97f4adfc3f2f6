import { readFileSync, type StatWatcher, unwatchFile, watchFile } from "node:fs";
import tls from "node:tls";
import type { TlsConfig } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";

/** What the API port's TLS context is built from: the files named in TlsConfig, read now. */
export function readTlsFiles(config: TlsConfig): tls.SecureContextOptions {
  return {
    cert: readFileSync(config.certFile),
    key: readFileSync(config.keyFile),
    ...(config.clientCaFile === undefined ? {} : { ca: readFileSync(config.clientCaFile) }),
  };
}

/**
 * Calls `apply` with freshly read TLS files whenever one of them changes, so a
 * renewed certificate (cert-manager, a rotated Kubernetes Secret) is served
 * without a restart. Polling stat() follows symlinks, so it also sees the
 * atomic `..data` swap Kubernetes does for mounted Secrets, which a watch on
 * the file itself can miss. A pair that does not load (a key written before
 * its certificate) is logged and the old context kept; the next change retries.
 */
export function watchTlsFiles(
  config: TlsConfig,
  logger: Logger,
  apply: (options: tls.SecureContextOptions) => void,
): () => void {
  const files = [config.certFile, config.keyFile, config.clientCaFile].filter(
    (file): file is string => file !== undefined,
  );
  const reload = () => {
    try {
      const options = readTlsFiles(config);
      // Throws on a certificate that does not match its key, before the server sees it.
      tls.createSecureContext(options);
      apply(options);
      logger.info("TLS certificate reloaded");
    } catch (error) {
      logger.warn(
        { err: { message: (error as Error).message } },
        "TLS files changed but do not load; kept the old ones",
      );
    }
  };
  const watchers: StatWatcher[] = [];
  const listener = (
    current: { mtimeMs: number; ino: number },
    previous: { mtimeMs: number; ino: number },
  ) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino) reload();
  };
  for (const file of files) {
    watchers.push(watchFile(file, { interval: config.reloadIntervalMs, persistent: false }, listener));
  }
  return () => {
    for (const file of files) unwatchFile(file, listener);
  };
}
