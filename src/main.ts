import { startGatehouse } from "./compose/gatehouse.ts";
import { ConfigError, loadConfig } from "./config/config.ts";
import { createLogger } from "./observability/logger.ts";
import { providerSummary } from "./observability/provider-summary.ts";

/** The entry point: the only place that reads process.env and listens for signals. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.log.level);
  const gatehouse = await startGatehouse(config, logger);
  logger.info(
    {
      url: gatehouse.server.url,
      managementUrl: gatehouse.management?.url,
      provider: providerSummary(config.identity.provider),
    },
    "gatehouse started",
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: draining in-flight calls");
    gatehouse.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `gatehouse: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
