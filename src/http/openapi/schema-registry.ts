/**
 * Zod schemas → the JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of the API
 * reference. A schema given a name with `named` becomes `#/components/schemas/<name>` and
 * is referenced wherever it appears, so a client generator makes one type of it.
 *
 * Everything is converted as input (`io: "input"`): for request bodies that is what the
 * server accepts (defaults make a field optional); the response shapes have no defaults
 * or transforms, and as input a plain object stays open to fields added later.
 */
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

const components = z.registry<{ id: string }>();
const names = new Set<string>();
const descriptions = new Map<string, string>();

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

/** Names `schema` in the document (and returns it unchanged). Once per schema, at module level: a name is taken once. */
export function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  // Two schemas under one name would be one component, silently describing only one of them.
  if (names.has(id)) throw new Error(`the schema name ${id} is taken`);
  names.add(id);
  components.add(schema, { id });
  if (description !== undefined) descriptions.set(id, description);
  return schema;
}

/** `components.schemas`: every named schema, each referring to the others by `$ref`. */
export function componentSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(components, { target: 'draft-2020-12', io: 'input', uri: (id) => `${SCHEMA_REF_PREFIX}${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      // `$schema` is implied by the document; an `$id` with a fragment is not allowed in 2020-12.
      const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
      const description = descriptions.get(id);
      return [id, description === undefined ? rest : { description, ...rest }];
    }),
  );
}

/** A `$ref` to a named schema, or the schema inline when it has no name. */
export function schemaOf(schema: z.ZodType): JsonSchema {
  const id = components.get(schema)?.id;
  return id === undefined ? inlineSchema(schema) : { $ref: `${SCHEMA_REF_PREFIX}${id}` };
}

/**
 * An unnamed schema, inline. It may not embed a named one: that would be copied into
 * local `$defs` instead of referenced, so name the outer schema too.
 */
export function inlineSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', metadata: components }) as JsonSchema;
  if ('$defs' in json) throw new Error(`an inline schema embeds named schemas (${Object.keys(json.$defs as object).join(', ')}): name it as well`);
  return json;
}
