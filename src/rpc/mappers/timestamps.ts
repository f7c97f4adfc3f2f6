import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

export const toTimestamp = (date: Date | undefined): Timestamp | undefined =>
  date === undefined ? undefined : timestampFromDate(date);
