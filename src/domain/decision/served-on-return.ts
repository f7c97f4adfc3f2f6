import type { RegistryChangeNotifier, ServiceChange } from "../ports/access-changes.ts";

/**
 * A registry write returns once this replica's directory serves it, so an
 * administrator who disables a service sees the next decision here deny it
 * (read your writes); decisions themselves never wait for it. Other replicas
 * serve it once they have read the one service.
 */
export function servedOnReturn(
  notifier: RegistryChangeNotifier,
  directory: { whenCurrent(): Promise<void> },
): RegistryChangeNotifier {
  return {
    subjectChanged: (subjectId) => notifier.subjectChanged(subjectId),
    everySubjectChanged: () => notifier.everySubjectChanged(),
    async servicesChanged(change: ServiceChange) {
      await notifier.servicesChanged(change);
      // Durable already: a failed reload must not fail the write (a full reload retries it in the background).
      await directory.whenCurrent().catch(() => {});
    },
  };
}
