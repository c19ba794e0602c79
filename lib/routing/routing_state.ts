/**
 * The current `ModelRouter`, built from the routing settings in the store and kept in memory, so requests
 * never read the config table. The store announces every config write (`StoreCache`): a `PUT /v2/config`
 * here is in force at once, one on another instance sharing the database within `stalenessMs`.
 */
import { StoreCache } from "../store/store_cache.ts";
import type { Store } from "../store/types.ts";
import { ModelRouter } from "./model_router.ts";
import { DEFAULT_ROUTING_CONFIG, type RoutingConfig, routingConfigFrom } from "./routing_config.ts";

export interface RoutingStateOptions {
  /** How long another instance's config change may go unseen (default 1 s). */
  stalenessMs?: number;
}

export class RoutingState {
  #store: Store;
  #cache: StoreCache<{ router: ModelRouter; config: RoutingConfig }>;

  constructor(store: Store, options: RoutingStateOptions = {}) {
    this.#store = store;
    this.#cache = new StoreCache(store.changes, "config", async () => {
      const config = routingConfigFrom(await store.config.getAll());
      return { router: new ModelRouter(config), config };
    }, { stalenessMs: options.stalenessMs ?? 1000 });
  }

  /** Seeds missing defaults into the store (never overwrites). */
  async seedDefaults(): Promise<void> {
    await this.#store.config.seed(DEFAULT_ROUTING_CONFIG);
  }

  async router(): Promise<ModelRouter> {
    return (await this.#cache.get()).router;
  }

  async config(): Promise<RoutingConfig> {
    return (await this.#cache.get()).config;
  }
}
