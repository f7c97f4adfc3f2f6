import { UserStatus } from "../../../src/gen/gatehouse/v1/types_pb.js";

const LABELS: Record<UserStatus, [string, string]> = {
  [UserStatus.UNSPECIFIED]: ["Unknown", "neutral"],
  [UserStatus.ACTIVE]: ["Active", "success"],
  [UserStatus.DISABLED]: ["Disabled", "danger"],
  [UserStatus.LOCKED]: ["Locked", "warning"],
};

export function StatusBadge(props: { status: UserStatus }) {
  const [label, tone] = LABELS[props.status];
  return <span className={`badge badge-${tone}`}>{label}</span>;
}

export function Badge(props: {
  tone?: "neutral" | "success" | "danger" | "warning" | "info";
  children: string;
}) {
  return <span className={`badge badge-${props.tone ?? "neutral"}`}>{props.children}</span>;
}
