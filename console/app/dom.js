// Small helpers to build the page from data without ever parsing data as HTML.

/** An element with attributes (on* names become listeners) and children (text or nodes). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    // Through the CSSOM: the hub's Content-Security-Policy refuses style attributes.
    else if (name === "style") element.style.cssText = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A table of rows; columns are [heading, row => cell]; onRow makes rows clickable. */
export function table(columns, rows, onRow) {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map(([heading]) => h("th", {}, heading)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          onRow ? { class: "clickable", onclick: () => onRow(row) } : {},
          columns.map(([, cell]) => h("td", {}, cell(row) ?? "")),
        ),
      ),
    ),
  );
}

export const badge = (word) => (word ? h("span", { class: `badge ${word}` }, word) : "");

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error.message || String(error));
}

/** Replace a container's content, showing an error instead if work fails. */
export async function fill(container, work) {
  container.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    container.replaceChildren(...[await work()].flat(Infinity).filter((part) => part !== "" && part != null));
  } catch (error) {
    container.replaceChildren(errorBox(error));
  }
}

/** RFC 4180 CSV: every field quoted when it needs to be, CRLF line ends. */
export function csv(header, rows) {
  const field = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(field).join(",")).join("\r\n") + "\r\n";
}

/** Where a fact came from: each source's ingestion (a link) and place in the payload. */
export function sources(list) {
  if (!list?.length) return "";
  return h(
    "ul",
    { class: "sources" },
    list.map((source) =>
      h(
        "li",
        {},
        h("a", { href: `#/ingestions?id=${encodeURIComponent(source.ingestionId)}` }, source.ingestionId),
        " ",
        h("code", {}, source.location),
      ),
    ),
  );
}

/** The query parameters of the view's hash address (#/view?name=value). */
export function hashParams() {
  const query = location.hash.split("?")[1] || "";
  return new URLSearchParams(query);
}
