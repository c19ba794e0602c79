// The one way the pages build DOM: `h()` creates elements from a tag, properties and children, and every
// string child becomes a text node. Data (labels, upstream replies, server messages) can therefore never be
// parsed as markup, and no page parses strings as HTML. Inline styles are not used either: the Content-Security-Policy
// forbids them, so looks come from classes.

/** Properties that would parse a string as markup or code: refused outright. */
const FORBIDDEN = new Set(["innerHTML", "outerHTML", "style", "srcdoc"]);

/**
 * Creates an element. `props`: `class` (string), `dataset` (object), `on<event>` (listener), `attrs`
 * (attributes set with setAttribute), anything else is assigned as a DOM property.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined) continue;
    if (FORBIDDEN.has(key)) throw new Error(`h(): "${key}" is not allowed`);
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "attrs") for (const [name, v] of Object.entries(value)) node.setAttribute(name, String(v));
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** `document.getElementById`. */
export const $ = (id) => document.getElementById(id);

/**
 * Shows a message (`kind` "ok" or "error") in a `.msg` element; an empty text clears it. An error clears
 * every success message still shown elsewhere, so an old "Saved" never sits above a newer failure.
 */
export function setMsg(target, text, kind = "") {
  const node = typeof target === "string" ? $(target) : target;
  if (kind === "error") {
    for (const other of document.querySelectorAll(".msg.ok")) {
      if (other === node) continue;
      other.textContent = "";
      other.className = "msg";
    }
  }
  node.textContent = text;
  node.className = "msg" + (kind ? " " + kind : "");
  node.setAttribute("role", kind === "error" ? "alert" : "status");
}
