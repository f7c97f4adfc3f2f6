import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { useMe } from "../api/me-context.tsx";
import { NotPermitted } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";
import { SessionsTable } from "../components/sessions-table.tsx";

export function UserSessionsSection(props: { user: User }) {
  const me = useMe();
  return (
    <Section title="Sessions">
      {me.can("vault.read") ? (
        <SessionsTable userId={props.user.id} canRevoke={me.can("vault.write")} />
      ) : (
        <NotPermitted permission="vault.read" />
      )}
    </Section>
  );
}
