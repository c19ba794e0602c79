import assert from "node:assert/strict";
import { cleanSchema } from "../../../lib/gemini/schema_cleaner.ts";

Deno.test("cleanSchema inlines $ref from $defs and definitions and drops the definitions", () => {
  const out = cleanSchema({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    properties: {
      a: { $ref: "#/$defs/Point" },
      b: { $ref: "#/definitions/Name", description: "the name" },
    },
    required: ["a", "b"],
    $defs: { Point: { type: "object", properties: { x: { type: "number" } }, additionalProperties: false } },
    definitions: { Name: { type: "string", description: "generic" } },
  });
  assert.deepEqual(out, {
    type: "object",
    properties: {
      a: { type: "object", properties: { x: { type: "number" } } },
      b: { type: "string", description: "the name" },
    },
    required: ["a", "b"],
  });
});

Deno.test("cleanSchema cuts recursive $ref cycles", () => {
  const out = cleanSchema({
    type: "object",
    properties: { tree: { $ref: "#/$defs/Node" } },
    $defs: {
      Node: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/Node" } } } },
    },
  });
  const tree = (out.properties as Record<string, Record<string, unknown>>).tree!;
  const children = (tree.properties as Record<string, Record<string, unknown>>).children!;
  assert.equal(children.type, "array");
  const items = children.items as Record<string, unknown>;
  assert.match(String(items.description), /recursive reference to Node/);
  assert.equal(items.properties, undefined);
});

Deno.test("cleanSchema turns const into enum and type arrays into nullable", () => {
  assert.deepEqual(cleanSchema({ const: "fixed" }), { type: "string", enum: ["fixed"] });
  assert.deepEqual(cleanSchema({ type: ["string", "null"], description: "d" }), {
    type: "string",
    description: "d",
    nullable: true,
  });
  const union = cleanSchema({ type: ["string", "integer"] });
  assert.deepEqual(union, { anyOf: [{ type: "string" }, { type: "integer" }] });
  assert.deepEqual(cleanSchema({ anyOf: [{ type: "number" }, { type: "null" }] }), {
    type: "number",
    nullable: true,
  });
  assert.deepEqual(cleanSchema({ oneOf: [{ type: "number" }, { type: "string" }] }), {
    anyOf: [{ type: "number" }, { type: "string" }],
  });
  assert.deepEqual(cleanSchema({ enum: [1, 2], type: "integer" }), {
    type: "integer",
    description: "(allowed values: 1, 2)",
  });
});

Deno.test("cleanSchema keeps properties named like keywords and moves validation keywords into the description", () => {
  const out = cleanSchema({
    type: "object",
    properties: {
      minimum: { type: "number", minimum: 0 },
      format: { type: "string", format: "uri" },
      default: { type: "boolean", default: false },
      count: { type: "integer", minimum: 1, maximum: 10, description: "how many" },
      when: { type: "string", format: "date-time" },
      additionalProperties: { type: "string" },
    },
    required: ["minimum", "count", "missing"],
    additionalProperties: false,
  });
  assert.deepEqual(Object.keys(out.properties as object), [
    "minimum",
    "format",
    "default",
    "count",
    "when",
    "additionalProperties",
  ]);
  const props = out.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(props.minimum, { type: "number", description: "(minimum: 0)" });
  assert.deepEqual(props.format, { type: "string", description: "(format: uri)" });
  assert.deepEqual(props.default, { type: "boolean", description: "(default: false)" });
  assert.deepEqual(props.count, { type: "integer", description: "how many (minimum: 1, maximum: 10)" });
  assert.deepEqual(props.when, { type: "string", format: "date-time" });
  assert.deepEqual(out.required, ["minimum", "count"]);
  assert.equal("additionalProperties" in out, false);
});

Deno.test("cleanSchema merges allOf and mentions exclusive bounds", () => {
  const out = cleanSchema({
    allOf: [
      { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
      {
        properties: {
          b: { type: "number", exclusiveMaximum: 100, exclusiveMinimum: 0, description: "a number" },
        },
      },
    ],
  });
  assert.equal(out.type, "object");
  assert.deepEqual(out.required, ["a"]);
  const b = (out.properties as Record<string, Record<string, unknown>>).b!;
  assert.equal(b.exclusiveMaximum, undefined);
  assert.match(String(b.description), /^a number \(exclusiveMinimum: 0, exclusiveMaximum: 100\)$/);
});

Deno.test("cleanSchema tolerates junk", () => {
  assert.deepEqual(cleanSchema(null), {});
  assert.deepEqual(cleanSchema({ type: "object", properties: { x: 5 } }), {
    type: "object",
    properties: { x: {} },
  });
  assert.deepEqual(cleanSchema({ $ref: "http://example.com/x.json" }), {});
});
