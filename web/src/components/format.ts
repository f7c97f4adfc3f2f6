import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp === undefined ? "—" : DATE_TIME.format(timestampDate(timestamp));
}

export function displayName(user: { firstName: string; lastName: string; username: string }): string {
  const name = `${user.firstName} ${user.lastName}`.trim();
  return name === "" ? user.username : name;
}
