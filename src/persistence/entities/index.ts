import type { EntitySchema } from "typeorm";

/** Every entity schema, registered once with the data source. */
export const entities: EntitySchema[] = [];
