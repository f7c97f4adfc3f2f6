import type { ServiceSource } from "../../../src/domain/decision/service-directory.ts";
import type { ServiceRecord } from "../../../src/domain/registry/service-record.ts";

/** A ServiceSource over a list the test replaces at will; its change number is the greatest version in it. */
export function serviceSourceOf(services: () => readonly ServiceRecord[]): ServiceSource {
  return {
    async loadAll() {
      const list = services();
      return { version: Math.max(0, ...list.map((service) => service.version)), services: list };
    },
    async loadOne(id) {
      return services().find((service) => service.id === id);
    },
    async latestVersion() {
      return Math.max(0, ...services().map((service) => service.version));
    },
  };
}
