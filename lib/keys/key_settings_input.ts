/**
 * The admin API's view of a client key's rules: the JSON fields of `POST /v2/keys` and `PATCH
 * /v2/keys/{id}` (validated with zod, so a bad value is a 400 naming the field) and the public form a key
 * is listed in (never its digest). Field names are fixed, so scripts can rely on them; `null` or an absent
 * limit means no limit, an empty allow-list allows everything. Costs are USD in the API and whole
 * micro-USD in the store.
 */
import { z } from "zod";
import { ACCOUNT_TYPES, type ClientKeyRecord, type ClientKeySettings } from "../store/types.ts";

const count = (max: number) => z.number().int().nonnegative().max(max).nullable().optional();
const usd = z.number().finite().nonnegative().max(1_000_000_000).nullable().optional();

const fields = {
  name: z.string().trim().max(200).nullable().optional(),
  enabled: z.boolean().optional(),
  expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
  allowed_models: z.array(
    z.string().trim().min(1).max(200).regex(/^[^\s]+$/, "model names and patterns contain no spaces"),
  ).max(200).nullable().optional(),
  allowed_channels: z.array(z.enum(ACCOUNT_TYPES as [string, ...string[]])).max(10).nullable().optional(),
  requests_per_minute: count(1_000_000),
  tokens_per_day: count(1e15),
  tokens_per_month: count(1e15),
  cost_per_day_usd: usd,
  cost_per_month_usd: usd,
  max_concurrency: count(10_000),
  note: z.string().max(2000).nullable().optional(),
};

/** `PATCH /v2/keys/{id}`: any subset of the fields; unknown fields are refused, so a typo is not ignored. */
export const keyPatchSchema = z.strictObject(fields);
/** `POST /v2/keys`: the same fields, plus the older `label` as another spelling of `name`. */
export const keyCreateSchema = z.strictObject({ ...fields, label: fields.name });

export type KeyPatchInput = z.infer<typeof keyPatchSchema>;

const micros = (value: number | null | undefined) =>
  value === undefined ? undefined : value === null ? null : Math.round(value * 1e6);

/** The store's patch for validated input (only the fields present). */
export function keySettingsInput(
  input: KeyPatchInput,
): { label?: string | null } & Partial<ClientKeySettings> {
  const out: { label?: string | null } & Partial<ClientKeySettings> = {};
  if (input.name !== undefined) out.label = input.name === "" ? null : input.name;
  if (input.enabled !== undefined) out.enabled = input.enabled;
  if (input.expires_at !== undefined) {
    out.expires_at = input.expires_at === null ? null : Date.parse(input.expires_at);
  }
  if (input.allowed_models !== undefined) out.allowed_models = input.allowed_models ?? [];
  if (input.allowed_channels !== undefined) out.allowed_channels = input.allowed_channels ?? [];
  for (
    const name of ["requests_per_minute", "tokens_per_day", "tokens_per_month", "max_concurrency"] as const
  ) {
    if (input[name] !== undefined) out[name] = input[name];
  }
  const day = micros(input.cost_per_day_usd);
  if (day !== undefined) out.cost_per_day_micros = day;
  const month = micros(input.cost_per_month_usd);
  if (month !== undefined) out.cost_per_month_micros = month;
  if (input.note !== undefined) out.note = input.note;
  return out;
}

/** A key's settings in the API's field names. */
export function keySettingsView(
  record: ClientKeySettings & { label: string | null },
): Record<string, unknown> {
  return {
    name: record.label,
    enabled: record.enabled,
    expires_at: record.expires_at === null ? null : new Date(record.expires_at).toISOString(),
    allowed_models: record.allowed_models,
    allowed_channels: record.allowed_channels,
    requests_per_minute: record.requests_per_minute,
    tokens_per_day: record.tokens_per_day,
    tokens_per_month: record.tokens_per_month,
    cost_per_day_usd: record.cost_per_day_micros === null ? null : record.cost_per_day_micros / 1e6,
    cost_per_month_usd: record.cost_per_month_micros === null ? null : record.cost_per_month_micros / 1e6,
    max_concurrency: record.max_concurrency,
    note: record.note,
  };
}

/** A stored key as the admin list shows it: settings and bookkeeping, never the digest. */
export function storedKeyView(record: ClientKeyRecord): Record<string, unknown> {
  return {
    id: record.id,
    source: "store",
    editable: true,
    label: record.label,
    prefix: record.prefix,
    ...keySettingsView(record),
    created_at: record.created_at,
    updated_at: record.updated_at,
    last_used_at: record.last_used_at,
  };
}
