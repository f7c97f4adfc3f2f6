import type { RegistryChangeNotifier, ServiceChange } from "../ports/access-changes.ts";
import type { ChangeFeed } from "./change-feed.ts";

/** Access changes only matter while a cached answer could still be served. */
const RETENTION_MS = 3_600_000;

/** Announces access changes on the change feed, so every replica's decision caches drop them. */
export class FeedAccessChangeNotifier implements RegistryChangeNotifier {
  private readonly feed: ChangeFeed;

  constructor(feed: ChangeFeed) {
    this.feed = feed;
  }

  async subjectChanged(subjectId: string): Promise<void> {
    await this.feed.publish({
      kind: "access_changed",
      key: subjectId,
      value: 0,
      expiresAt: Date.now() + RETENTION_MS,
    });
  }

  async everySubjectChanged(): Promise<void> {
    await this.feed.publish({
      kind: "access_changed",
      key: "*",
      value: 0,
      expiresAt: Date.now() + RETENTION_MS,
    });
  }

  /** Key: the service's id, value: the change number, so that replicas read that one service. */
  async servicesChanged(change: ServiceChange): Promise<void> {
    await this.feed.publish({
      kind: "services_changed",
      key: change.serviceId,
      value: change.version,
      expiresAt: Date.now() + RETENTION_MS,
    });
  }
}
