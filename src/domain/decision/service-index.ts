import type { ServiceRecord } from "../registry/service-record.ts";

/**
 * Names (slugs, hosts) → the service they lead to. Two services may claim one
 * name for a moment (a host moved between them, changes applied out of order):
 * the greatest id wins, as when the whole registry is read in id order, so a
 * replica applying changes one by one resolves every name as one that reloaded.
 */
class Claims {
  private readonly claimants = new Map<string, ServiceRecord[]>();
  readonly resolved = new Map<string, ServiceRecord>();

  claim(name: string, service: ServiceRecord): void {
    const claimants = this.claimants.get(name);
    if (claimants === undefined) this.claimants.set(name, [service]);
    else claimants.push(service);
    const winner = this.resolved.get(name);
    if (winner === undefined || winner.id <= service.id) this.resolved.set(name, service);
  }

  release(name: string, id: string): void {
    const claimants = this.claimants.get(name)?.filter((service) => service.id !== id) ?? [];
    if (claimants.length === 0) {
      this.claimants.delete(name);
      this.resolved.delete(name);
      return;
    }
    this.claimants.set(name, claimants);
    let winner = claimants[0]!;
    for (const service of claimants) if (service.id > winner.id) winner = service;
    this.resolved.set(name, winner);
  }
}

/**
 * The services a replica holds, indexed by id, slug and host; changed in place,
 * one service at a time, within one synchronous call, so a lookup (which never
 * awaits between reading an index and using the record) sees the directory
 * before or after a change, never halfway.
 */
export class ServiceIndex {
  readonly byId = new Map<string, ServiceRecord>();
  private readonly slugs = new Claims();
  private readonly hosts = new Claims();
  /** Static host → slug routes from configuration (ENVOY_HOST_SERVICES), behind registered hosts. */
  private readonly configuredHosts: ReadonlyMap<string, string>;

  constructor(configuredHosts: ReadonlyMap<string, string>, services: Iterable<ServiceRecord> = []) {
    this.configuredHosts = configuredHosts;
    for (const service of services) this.put(service);
  }

  bySlug(slug: string): ServiceRecord | undefined {
    return this.slugs.resolved.get(slug);
  }

  byHost(host: string): ServiceRecord | undefined {
    const registered = this.hosts.resolved.get(host);
    if (registered !== undefined) return registered;
    const slug = this.configuredHosts.get(host);
    return slug === undefined ? undefined : this.slugs.resolved.get(slug);
  }

  /** Adds the service, or replaces the copy held. */
  put(service: ServiceRecord): void {
    this.remove(service.id);
    this.byId.set(service.id, service);
    this.slugs.claim(service.slug, service);
    for (const host of service.hosts) this.hosts.claim(host.toLowerCase(), service);
  }

  remove(id: string): void {
    const held = this.byId.get(id);
    if (held === undefined) return;
    this.byId.delete(id);
    this.slugs.release(held.slug, id);
    for (const host of held.hosts) this.hosts.release(host.toLowerCase(), id);
  }
}
