/** `LabelChildren`: one object per label set, found again by the same values, labels in the metric's order. */
import assert from "node:assert/strict";
import { LabelChildren } from "../../../lib/observability/label_children.ts";

Deno.test("LabelChildren makes one object per label set and finds it again", () => {
  const made: Array<Record<string, string>> = [];
  const children = new LabelChildren(["route", "status"], (labels) => {
    made.push(labels);
    return { labels, n: 0 };
  });
  children.get("/v1/messages", 200).n++;
  children.get("/v1/messages", 200).n++;
  children.get("/v1/messages", 429).n++;
  children.get("/v1/models", 200).n++;
  assert.deepEqual(made, [
    { route: "/v1/messages", status: "200" },
    { route: "/v1/messages", status: "429" },
    { route: "/v1/models", status: "200" },
  ]);
  assert.deepEqual(children.all().map((c) => c.n), [2, 1, 1]);
  assert.equal(children.get("/v1/messages", 200), children.all()[0]);
});

Deno.test("LabelChildren takes one to four labels", () => {
  assert.throws(() => new LabelChildren([], () => ({})), /one to four/);
  assert.throws(() => new LabelChildren(["a", "b", "c", "d", "e"], () => ({})), /one to four/);
  const four = new LabelChildren(["a", "b", "c", "d"], (labels) => labels);
  assert.deepEqual(four.get("1", "2", "3", "4"), { a: "1", b: "2", c: "3", d: "4" });
});
