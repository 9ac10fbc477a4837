// Screen 6: tasks: lanes to refill from the stockroom, shelf-vs-system discrepancies to count,
// and the inventory count itself (compare-and-set: a stale count shows the new value and asks
// again).
import { ApiError, enc, get } from "../api.js";
import { on } from "../bus.js";
import { dateTime } from "../format.js";
import { h, mount } from "../h.js";
import { _, ngettext } from "../i18n.js";
import { submit } from "../queue.js";
import { locationName, productName, refusal } from "../state.js";
import { errorBox, field, sheet, staleNote, toast } from "../ui.js";

// The count sheet. The system's figure is read first (it is the compare-and-set value) but not
// shown: a blind count is an honest one.
export async function countSheet(sku, location = "floor") {
  let level;
  try {
    level = (await get(`/stock/${enc(sku)}`)).data;
  } catch {
    toast(_("No network: a count needs the current stock."), "error");
    return;
  }
  const name = await productName(sku);
  let expected = null;
  const where = h("select", { id: "count-location" },
    level.locations.map((place) => h("option", { value: place.location, selected: place.location === location }, locationName(place.location))));
  const counted = h("input", { id: "count-value", type: "number", inputmode: "numeric", min: "0", max: "100000", step: "1", required: true });
  const message = h("div", { "aria-live": "assertive", id: "count-message" });
  const go = h("button", { class: "btn primary big", type: "submit", id: "count-confirm" }, _("Record the count"));
  const readExpected = () => {
    expected = level.locations.find((l) => l.location === where.value)?.on_hand ?? 0;
  };
  where.addEventListener("change", () => {
    readExpected();
    mount(message);
  });
  readExpected();
  const form = h("form", { novalidate: true }, h("p", {}, h("strong", {}, name), " ", h("span", { class: "muted" }, sku)),
    field(_("Where"), where), field(_("Units counted"), counted, _("Count every unit at this location, then type the number.")), go, message);
  const opened = sheet(_("Inventory count"), form);
  counted.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = Number(counted.value);
    if (!Number.isInteger(value) || value < 0 || value > 100000) {
      mount(message, errorBox(_("Type a whole number of units.")));
      return;
    }
    go.disabled = true;
    const item = await submit({
      kind: "count",
      method: "PUT",
      path: `/stock/${enc(sku)}/locations/${enc(where.value)}`,
      body: { on_hand: value, expected_on_hand: expected },
      label: { sku, name, text: `${locationName(where.value)} = ${value}` },
    });
    go.disabled = false;
    if (item.state === "done") {
      toast(_("Count recorded: {n} at {where}.", { n: value, where: locationName(where.value) }));
      opened.close();
    } else if (item.state === "pending") {
      toast(_("No network: the count is queued; if the stock moves meanwhile it will be refused."), "warn");
      opened.close();
    } else if (item.error?.code === "stale_count") {
      expected = item.error.errors.on_hand;
      counted.value = "";
      mount(message, h("div", { class: "error stale-count", role: "alert" },
        h("strong", {}, _("The stock changed while you counted.")), " ",
        _("The system now has {n} at {where} (a sale, a hold or a delivery). Count again and confirm.", { n: expected, where: locationName(where.value) })));
      counted.focus();
    } else {
      mount(message, errorBox(refusal(item.error)));
    }
  });
}

export async function show(main) {
  const refills = h("ul", { class: "task-list", id: "refills" });
  const counts = h("ul", { class: "task-list", id: "discrepancies" });
  const countAny = h("form", { class: "inline-form" });

  async function render() {
    try {
      const { data, stale, at } = await get("/tasks");
      mount(refills,
        stale ? h("li", {}, staleNote(at)) : null,
        data.length
          ? data.map((task) =>
              h("li", { class: "task", dataset: { sku: task.sku } },
                h("div", {},
                  h("strong", {}, _("Refill lane {shelf}{lane}", { shelf: task.shelf, lane: task.lane })),
                  h("p", {}, ngettext("{n} × {name} from the stockroom", "{n} × {name} from the stockroom", task.quantity, { name: task.name })),
                  h("p", { class: "muted" }, _("{units} of {capacity} on the shelf · {backroom} in the stockroom", { units: task.units_on_shelf, capacity: task.capacity, backroom: task.backroom_available }))),
                h("a", { class: "btn secondary", href: `#/product/${enc(task.sku)}` }, _("Product"))))
          : h("li", { class: "empty" }, _("No lane to refill.")));
    } catch {
      mount(refills, errorBox(_("Tasks unknown (no network).")));
    }
    try {
      const { data, stale, at } = await get("/discrepancies?status=open&limit=50");
      const rows = await Promise.all(data.map(async (d) => ({ ...d, name: await productName(d.sku) })));
      mount(counts,
        stale ? h("li", {}, staleNote(at)) : null,
        rows.length
          ? rows.map((d) =>
              h("li", { class: "task", dataset: { sku: d.sku } },
                h("div", {},
                  h("strong", {}, d.name),
                  h("p", {}, d.kind === "missing"
                    ? ngettext("{n} unit left the shelf unexplained", "{n} units left the shelf unexplained", Math.abs(d.difference))
                    : ngettext("{n} unit more sold than left the shelf", "{n} units more sold than left the shelf", Math.abs(d.difference))),
                  h("p", { class: "muted" }, _("Lanes {lanes} · since {when}", { lanes: (d.lanes || []).join(", "), when: dateTime(d.window_start) }))),
                h("button", { class: "btn primary", type: "button", onclick: () => countSheet(d.sku, "floor") }, _("Count"))))
          : h("li", { class: "empty" }, _("Nothing to count: the shelves agree with the system.")));
    } catch (error) {
      mount(counts, errorBox(error instanceof ApiError && error.status === 403 ? _("This tablet may not read the discrepancies.") : _("Discrepancies unknown (no network).")));
    }
  }

  const sku = h("input", { id: "count-sku", autocomplete: "off", spellcheck: "false", placeholder: _("SKU, e.g. LL-BOS-WGG244-BL"), "aria-label": _("SKU to count") });
  mount(countAny, sku, h("button", { class: "btn secondary", type: "submit" }, _("Count a product")));
  countAny.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sku.value.trim()) countSheet(sku.value.trim().toUpperCase());
  });

  mount(main, h("section", { class: "tasks" },
    h("h1", {}, _("Tasks")),
    h("h2", { class: "section" }, _("Lanes to refill")), refills,
    h("h2", { class: "section" }, _("To count (shelf vs system)")), counts,
    h("h2", { class: "section" }, _("Inventory count")), countAny));
  await render();
  const offs = [on("event:shelf.discrepancy", render), on("connected", render), on("count:done", render)];
  const timer = setInterval(render, 60_000);
  return () => {
    clearInterval(timer);
    offs.forEach((off) => off());
  };
}
