import type { ChangeFeed } from "../change-feed/change-feed.ts";
import type { ServiceRecord } from "../registry/service-record.ts";

/** Every registered service in memory (a registry is small), reloaded when the feed says so. */
export class ServiceDirectory {
  private readonly loadAll: () => Promise<ServiceRecord[]>;
  /** Static host → slug routes from configuration (ENVOY_HOST_SERVICES). */
  private readonly configuredHosts: ReadonlyMap<string, string>;
  private byId = new Map<string, ServiceRecord>();
  private bySlug = new Map<string, ServiceRecord>();
  private byHost = new Map<string, ServiceRecord>();
  private generation = 0;
  private loadedGeneration = -1;
  private loading: Promise<void> | undefined;

  constructor(
    loadAll: () => Promise<ServiceRecord[]>,
    configuredHosts: ReadonlyMap<string, string>,
    feed: ChangeFeed,
  ) {
    this.loadAll = loadAll;
    this.configuredHosts = configuredHosts;
    feed.onChange((event) => {
      if (event.kind === "services_changed") this.generation++;
    });
  }

  /** Up to date with every change heard so far; the next lookup after a change waits for the reload. */
  private async fresh(): Promise<void> {
    while (this.loadedGeneration !== this.generation) {
      this.loading ??= this.reload().finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
  }

  private async reload(): Promise<void> {
    const generation = this.generation;
    const services = await this.loadAll();
    const byId = new Map<string, ServiceRecord>();
    const bySlug = new Map<string, ServiceRecord>();
    const byHost = new Map<string, ServiceRecord>();
    for (const service of services) {
      byId.set(service.id, service);
      bySlug.set(service.slug, service);
      for (const host of service.hosts) byHost.set(host.toLowerCase(), service);
    }
    for (const [host, slug] of this.configuredHosts) {
      const service = bySlug.get(slug);
      if (service !== undefined && !byHost.has(host)) byHost.set(host, service);
    }
    this.byId = byId;
    this.bySlug = bySlug;
    this.byHost = byHost;
    this.loadedGeneration = generation;
  }

  async byKey(key: string): Promise<ServiceRecord | undefined> {
    await this.fresh();
    return this.byId.get(key) ?? this.bySlug.get(key);
  }

  /** A request's :authority → service; tried with and without the port. */
  async byHostName(authority: string): Promise<ServiceRecord | undefined> {
    await this.fresh();
    const host = authority.toLowerCase();
    return this.byHost.get(host) ?? this.byHost.get(host.replace(/:\d+$/, ""));
  }
}
