import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { AuditTable } from "../audit/audit-table.tsx";
import { Section } from "../components/section.tsx";

/** The user's audit trail: events about them (ListAuditEvents by target). */
export function UserAuditSection(props: { user: User }) {
  return (
    <Section title="Audit trail">
      <AuditTable filter={{ targetId: props.user.id }} pageSize={10} />
    </Section>
  );
}
