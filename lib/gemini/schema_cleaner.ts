/**
 * Cleans a tool's JSON Schema into the OpenAPI-style `Schema` subset Gemini function declarations accept.
 *
 * The rules of the genai SDK's `processJsonSchema`, plus fixes for what Gemini still refuses:
 * `$ref` into `$defs`/`definitions` (or any JSON pointer into the root) is inlined, with recursion cut off;
 * `const` becomes a one-value `enum`; `["string","null"]` becomes `type:"string", nullable:true`; `oneOf` is
 * read as `anyOf`, `allOf` is merged, a null branch becomes `nullable`; validation keywords Code Assist rejects
 * (`minimum`, `maxLength`, `pattern`, `default`, ...) are moved into the description as a hint instead of
 * being lost; anything else unknown is dropped. Property NAMES are never filtered: only schema nodes are
 * cleaned, so a property called `minimum` or `format` survives. Pure; never throws on odd input.
 */

type Json = Record<string, unknown>;

/** Keys kept as they are (after their values are cleaned). */
const KEPT = new Set(["type", "description", "enum", "items", "properties", "required", "nullable", "anyOf"]);
/** Keys Code Assist refuses but that tell the model something: moved into the description. */
const HINTED = [
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "format",
  "default",
];
/** String formats Gemini accepts on a STRING schema; others become hints. */
const GEMINI_STRING_FORMATS = new Set(["enum", "date-time"]);
const KNOWN_TYPES = new Set(["string", "number", "integer", "boolean", "array", "object", "null"]);
const MAX_DEPTH = 64;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hintValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function withHints(description: unknown, hints: string[]): string | undefined {
  const base = typeof description === "string" && description.length > 0 ? description : undefined;
  if (hints.length === 0) return base;
  return base ? `${base} (${hints.join(", ")})` : `(${hints.join(", ")})`;
}

class Cleaner {
  #root: Json;

  constructor(root: Json) {
    this.#root = root;
  }

  /** Looks up a local JSON pointer (`#/$defs/Name`); external references are not followed. */
  #resolve(ref: string): Json | undefined {
    if (!ref.startsWith("#")) return undefined;
    let node: unknown = this.#root;
    for (const raw of ref.slice(1).split("/").filter((s) => s.length > 0)) {
      const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
      if (!isObject(node)) return undefined;
      node = node[key];
    }
    return isObject(node) ? node : undefined;
  }

  /** Inlines `$ref` and folds `allOf`, giving one plain node (not yet cleaned). */
  #flatten(node: Json, refs: readonly string[]): { node: Json; refs: readonly string[]; cut?: string } {
    let current = node;
    let seen = refs;
    for (let hops = 0; typeof current.$ref === "string" && hops < MAX_DEPTH; hops++) {
      const ref = current.$ref;
      const { $ref: _ignored, ...siblings } = current;
      if (seen.includes(ref)) return { node: siblings, refs: seen, cut: ref };
      const target = this.#resolve(ref);
      seen = [...seen, ref];
      // Sibling keywords (a description next to the $ref) describe this use, so they win.
      current = target ? { ...target, ...siblings } : siblings;
    }
    if (Array.isArray(current.allOf)) {
      const { allOf, ...rest } = current;
      let merged: Json = {};
      for (const part of allOf) {
        if (!isObject(part)) continue;
        const flat = this.#flatten(part, seen).node;
        merged = {
          ...merged,
          ...flat,
          properties: {
            ...(isObject(merged.properties) ? merged.properties : {}),
            ...(isObject(flat.properties) ? flat.properties : {}),
          },
          required: [
            ...(Array.isArray(merged.required) ? merged.required : []),
            ...(Array.isArray(flat.required) ? flat.required : []),
          ],
        };
      }
      if (Object.keys(merged.properties as Json).length === 0) delete merged.properties;
      if ((merged.required as unknown[]).length === 0) delete merged.required;
      current = { ...merged, ...rest };
    }
    return { node: current, refs: seen };
  }

  clean(input: unknown, refs: readonly string[], depth: number): Json {
    if (!isObject(input) || depth > MAX_DEPTH) return {};
    const flat = this.#flatten(input, refs);
    const node = flat.node;
    const out: Json = {};
    const hints: string[] = [];
    if (flat.cut) hints.push(`recursive reference to ${flat.cut.split("/").pop()}`);
    let nullable = node.nullable === true;

    // type: a list of types is a union; "null" in it means nullable.
    let types: string[] = [];
    if (typeof node.type === "string") types = [node.type];
    else if (Array.isArray(node.type)) types = node.type.filter((t): t is string => typeof t === "string");
    types = types.map((t) => t.toLowerCase()).filter((t) => KNOWN_TYPES.has(t));
    if (types.includes("null")) {
      nullable = true;
      types = types.filter((t) => t !== "null");
    }

    // const is a one-value enum; enum values must be strings for Gemini, others become a hint.
    let enumValues: unknown[] | undefined = Array.isArray(node.enum) ? [...node.enum] : undefined;
    if ("const" in node) enumValues = [node.const];
    if (enumValues) {
      if (enumValues.includes(null)) {
        nullable = true;
        enumValues = enumValues.filter((v) => v !== null);
      }
      if (enumValues.length > 0 && enumValues.every((v) => typeof v === "string")) {
        out.enum = enumValues;
        if (types.length === 0) types = ["string"];
      } else if (enumValues.length > 0) {
        hints.push(`allowed values: ${enumValues.map(hintValue).join(", ")}`);
      }
    }

    // anyOf / oneOf: null branches become nullable; a single remaining branch is merged into this node.
    const unionSource = Array.isArray(node.anyOf)
      ? node.anyOf
      : Array.isArray(node.oneOf)
      ? node.oneOf
      : undefined;
    let branches: Json[] = [];
    if (unionSource) {
      for (const branch of unionSource) {
        if (!isObject(branch)) continue;
        if (
          branch.type === "null" ||
          (Array.isArray(branch.enum) && branch.enum.length === 1 && branch.enum[0] === null)
        ) {
          nullable = true;
          continue;
        }
        const cleaned = this.clean(branch, flat.refs, depth + 1);
        if (cleaned.nullable === true) {
          nullable = true;
          delete cleaned.nullable;
        }
        branches.push(cleaned);
      }
    }
    if (types.length > 1) {
      // A type union: one branch per type, each keeping the keywords that apply to it.
      const { type: _t, description: _d, nullable: _n, ...rest } = node;
      branches = [...branches, ...types.map((t) => this.clean({ ...rest, type: t }, flat.refs, depth + 1))];
      types = [];
    }
    if (branches.length === 1 && types.length === 0) {
      const [only] = branches;
      const merged = { ...only };
      if (typeof merged.description === "string" && typeof node.description === "string") {
        delete merged.description;
      }
      Object.assign(out, merged);
    } else if (branches.length > 1) {
      out.anyOf = branches;
    }

    if (types.length === 1) out.type = types[0];
    const type = out.type;

    if (type === "object" || (type === undefined && isObject(node.properties))) {
      if (isObject(node.properties)) {
        const properties: Json = {};
        // Every key is a property name, never a keyword: it is kept whatever it is called.
        for (const [name, schema] of Object.entries(node.properties)) {
          properties[name] = this.clean(schema, flat.refs, depth + 1);
        }
        out.properties = properties;
        if (Array.isArray(node.required)) {
          const required = node.required.filter((r): r is string => typeof r === "string" && r in properties);
          if (required.length > 0) out.required = [...new Set(required)];
        }
      }
    }
    if (type === "array" || (type === undefined && "items" in node)) {
      if (Array.isArray(node.items)) {
        // Tuple form: Gemini has one item schema, so take the union of the positions.
        const items = node.items.map((i) => this.clean(i, flat.refs, depth + 1));
        if (items.length === 1) out.items = items[0];
        else if (items.length > 1) out.items = { anyOf: items };
      } else if (isObject(node.items)) {
        out.items = this.clean(node.items, flat.refs, depth + 1);
      }
    }

    for (const key of HINTED) {
      if (!(key in node)) continue;
      const value = node[key];
      if (
        key === "format" && type === "string" && typeof value === "string" && GEMINI_STRING_FORMATS.has(value)
      ) {
        out.format = value;
        continue;
      }
      hints.push(`${key}: ${hintValue(value)}`);
    }

    const description = withHints(node.description ?? out.description, hints);
    if (description !== undefined) out.description = description;
    else delete out.description;
    if (nullable) out.nullable = true;
    for (const key of Object.keys(out)) if (!KEPT.has(key) && key !== "format") delete out[key];
    return out;
  }
}

/** Cleans a JSON Schema for a Gemini function declaration (see the file comment). */
export function cleanSchema(schema: unknown): Json {
  if (!isObject(schema)) return {};
  return new Cleaner(schema).clean(schema, [], 0);
}
