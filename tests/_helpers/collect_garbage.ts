/**
 * A full garbage collection, as the runtime runs one sooner or later under load, for tests of behaviour that
 * must not depend on what a collection frees. `--expose-gc` set at run time makes `gc` available to new
 * contexts only, hence the context.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export async function collectGarbage(): Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
