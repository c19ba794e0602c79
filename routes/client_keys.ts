/**
 * `/v2/keys`: client keys for the API, stored as digests, with their rules. A new key is shown once, at
 * creation. `POST` creates (with any of the rule fields), `PATCH /v2/keys/{id}` changes them, `GET` lists
 * every key without secrets (stored keys with their use, remaining budgets and window resets), `API_KEY` keys included as `source: "env"`, `editable: false` (they are
 * unlimited and live in the configuration, so the API cannot change them).
 */
import { Hono } from "hono";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { readJsonBody } from "../lib/read_json_body.ts";
import {
  keyCreateSchema,
  keyPatchSchema,
  keySettingsInput,
  storedKeyView,
} from "../lib/keys/key_settings_input.ts";

const ENV_KEY_REFUSAL =
  "keys from API_KEY are configured in the environment: they are unlimited and cannot be " +
  "edited or deleted through the API; create a key with POST /v2/keys to give it limits";

function envKeyView(index: number): Record<string, unknown> {
  return {
    id: `env:${index}`,
    source: "env",
    editable: false,
    unlimited: true,
    name: `API_KEY #${index + 1}`,
    enabled: true,
  };
}

export function createClientKeyRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/v2/keys", async (c) => {
    // Each stored key with its use and what its limits leave in the current windows (one small read per key).
    const stored = await Promise.all(
      (await deps.store.clientKeys.listRecords()).map(async (record) => ({
        ...storedKeyView(record),
        ...(await deps.keyLimits.budget(record)),
      })),
    );
    const env = Array.from({ length: deps.clientKeys.configuredCount }, (_, i) => envKeyView(i));
    return c.json([...env, ...stored]);
  });
  app.post("/v2/keys", async (c) => {
    const body = await readJsonBody(c, keyCreateSchema);
    const settings = keySettingsInput({ ...body, name: body.name ?? body.label });
    const { key, record } = await deps.clientKeys.create(settings.label ?? null, settings);
    const full = await deps.store.clientKeys.get(record.id);
    return c.json({ ...storedKeyView(full!), key }, 201);
  });
  app.patch("/v2/keys/:id", async (c) => {
    const id = c.req.param("id");
    if (id.startsWith("env:")) throw new ApiError("permission_error", ENV_KEY_REFUSAL);
    const body = await readJsonBody(c, keyPatchSchema);
    const updated = await deps.store.clientKeys.update(id, keySettingsInput(body));
    if (!updated) throw new ApiError("not_found_error", `key ${id} not found`);
    return c.json(storedKeyView(updated));
  });
  app.delete("/v2/keys/:id", async (c) => {
    const id = c.req.param("id");
    if (id.startsWith("env:")) throw new ApiError("permission_error", ENV_KEY_REFUSAL);
    if (!(await deps.store.clientKeys.delete(id))) {
      throw new ApiError("not_found_error", `key ${id} not found`);
    }
    return c.json({ deleted: id });
  });
  return app;
}
