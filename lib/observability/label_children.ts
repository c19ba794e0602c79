/**
 * `LabelChildren`: per-label-set objects of one metric (a count, or a prom-client child), found by their
 * label values.
 *
 * prom-client builds a label object and hashes it (sorting the label names) on every update, its `labels()`
 * children included, which is a few hundred nanoseconds and some garbage per call. The request path instead
 * walks nested maps keyed by the label values themselves (numbers included), so once a label set has been
 * seen an update builds no string and no object; counters keep plain numbers here and hand them to
 * prom-client when `/metrics` is scraped. Label sets are bounded by the callers, so these maps are too. Up
 * to four labels; unused trailing ones are left out.
 */

type Key = string | number;

export class LabelChildren<C> {
  #root = new Map<Key, Map<Key, Map<Key, Map<Key, C>>>>();
  #all: C[] = [];
  #names: readonly string[];
  #make: (labels: Record<string, string>) => C;

  /** `make` builds the object of one label set from its labels (`{ route: "/v1/messages", ... }`). */
  constructor(names: readonly string[], make: (labels: Record<string, string>) => C) {
    if (names.length < 1 || names.length > 4) throw new Error("LabelChildren takes one to four labels");
    this.#names = names;
    this.#make = make;
  }

  get(a: Key, b: Key = "", c: Key = "", d: Key = ""): C {
    let l2 = this.#root.get(a);
    if (!l2) this.#root.set(a, l2 = new Map());
    let l3 = l2.get(b);
    if (!l3) l2.set(b, l3 = new Map());
    let l4 = l3.get(c);
    if (!l4) l3.set(c, l4 = new Map());
    let child = l4.get(d);
    if (child === undefined) {
      const values = [a, b, c, d];
      child = this.#make(Object.fromEntries(this.#names.map((name, i) => [name, String(values[i])])));
      l4.set(d, child);
      this.#all.push(child);
    }
    return child;
  }

  /** Every label set's object, in the order they were first seen. */
  all(): readonly C[] {
    return this.#all;
  }
}
