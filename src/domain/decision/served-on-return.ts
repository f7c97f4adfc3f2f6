import type { RegistryChangeNotifier } from "../ports/access-changes.ts";

/**
 * A registry write returns once this replica's directory serves it, so an
 * administrator who disables a service sees the next decision here deny it
 * (read your writes); decisions themselves never wait for the reload. Other
 * replicas serve it within two reloads of hearing the change.
 */
export function servedOnReturn(
  notifier: RegistryChangeNotifier,
  directory: { whenCurrent(): Promise<void> },
): RegistryChangeNotifier {
  return {
    subjectChanged: (subjectId) => notifier.subjectChanged(subjectId),
    everySubjectChanged: () => notifier.everySubjectChanged(),
    async servicesChanged() {
      await notifier.servicesChanged();
      // Durable already: a failed reload must not fail the write (it is retried in the background).
      await directory.whenCurrent().catch(() => {});
    },
  };
}
