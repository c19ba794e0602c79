/**
 * The current `ModelRouter`, built from the routing settings in the store and rebuilt when an admin changes
 * them (`invalidate()` after `PUT /v2/config`), so requests never read the config table.
 */
import type { Store } from "../store/types.ts";
import { ModelRouter } from "./model_router.ts";
import { DEFAULT_ROUTING_CONFIG, type RoutingConfig, routingConfigFrom } from "./routing_config.ts";

export class RoutingState {
  #store: Store;
  #router: Promise<{ router: ModelRouter; config: RoutingConfig }> | null = null;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Seeds missing defaults into the store (never overwrites). */
  async seedDefaults(): Promise<void> {
    await this.#store.config.seed(DEFAULT_ROUTING_CONFIG);
  }

  async router(): Promise<ModelRouter> {
    return (await this.#load()).router;
  }

  async config(): Promise<RoutingConfig> {
    return (await this.#load()).config;
  }

  invalidate(): void {
    this.#router = null;
  }

  #load(): Promise<{ router: ModelRouter; config: RoutingConfig }> {
    if (!this.#router) {
      const loading = this.#store.config.getAll().then((stored) => {
        const config = routingConfigFrom(stored);
        return { router: new ModelRouter(config), config };
      });
      loading.catch(() => this.#router = null);
      this.#router = loading;
    }
    return this.#router;
  }
}
