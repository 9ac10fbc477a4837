// Customers on the tablet (docs/reminders.md): who a hold is for, and "tell me when it is
// back". A picker over GET /customers?q= (part of a name, e-mail or mobile), a short form to
// register a walk-in customer with the consents they give, and the back-in-stock request,
// sent through the tap queue like every write. Customers are looked up live and never kept
// in the tablet's cache: their details stay on the server.
import { ApiError, Offline, enc, request } from "./api.js";
import { h, mount } from "./h.js";
import { _ } from "./i18n.js";
import { submit } from "./queue.js";
import { me, refusal } from "./state.js";
import { errorBox, field, sheet, toast } from "./ui.js";

// What the customer agrees to, shown next to the box and kept with the consent.
const SERVICE_WORDING = () =>
  _("The customer agrees to be told by e-mail or text message about items held for them and products they asked for.");
const MARKETING_WORDING = () =>
  _("The customer agrees to receive the shop's suggestions (refills, offers); they can unsubscribe at any time.");

function contact(customer) {
  return [customer.email, customer.phone].filter(Boolean).join(" · ");
}

export function agreedToBeTold(customer) {
  return customer?.consents?.service?.granted === true;
}

function consent(purpose, wording) {
  return { purpose, granted: true, method: "in_store", collected_by: me.name || null, wording };
}

const FIELD_NAMES = { name: () => _("name"), email: () => _("e-mail"), phone: () => _("mobile") };

function whyRefused(error) {
  if (error instanceof Offline) return _("No network: customers cannot be looked up now.");
  if (error instanceof ApiError && error.code === "validation_error") {
    const fields = Object.keys(error.errors || {}).map((name) => (FIELD_NAMES[name] ? FIELD_NAMES[name]() : name));
    return _("Check what you typed: {fields}.", { fields: fields.join(", ") });
  }
  return refusal(error);
}

// The picker: search, pick one, or register a new customer. onChange(customer | null).
export function customerPicker({ onChange = () => {}, label = _("Customer (optional)") } = {}) {
  let chosen = null;
  let timer = null;
  let asked = 0;
  const input = h("input", {
    id: "customer-search",
    type: "search",
    autocomplete: "off",
    maxlength: "120",
    placeholder: _("Name, e-mail or mobile"),
    "aria-label": _("Find a customer"),
  });
  const results = h("ul", { class: "customer-results", "aria-live": "polite" });
  const picked = h("div", { class: "customer-picked" });
  const form = h("div", { class: "customer-new" });
  const finder = h("div", { class: "customer-finder" }, input, results, form);
  const node = h("div", { class: "field customer-picker" }, h("span", { class: "label" }, label), picked, finder);

  function choose(customer) {
    chosen = customer;
    mount(form);
    if (customer) {
      mount(picked, h("div", { class: "customer-chip", dataset: { customer: customer.id } },
        h("span", { class: "who-is" }, h("strong", {}, customer.name), " ", h("span", { class: "muted" }, contact(customer)),
          agreedToBeTold(customer) ? null : h("span", { class: "hint" }, _("Has not agreed to be told: no reminder."))),
        h("button", { class: "btn secondary", type: "button", id: "customer-clear", onclick: () => choose(null) }, _("Change"))));
      finder.hidden = true;
    } else {
      mount(picked);
      finder.hidden = false;
      input.value = "";
      mount(results);
    }
    onChange(customer);
  }

  async function find() {
    const q = input.value.trim();
    const mine = ++asked;
    if (q.length < 2) {
      mount(results);
      return;
    }
    try {
      const { data } = await request("GET", `/customers?q=${enc(q)}&page_size=8`);
      if (mine !== asked) return;
      mount(results,
        data.items.map((customer) =>
          h("li", {}, h("button", { class: "customer-result", type: "button", dataset: { customer: customer.id }, onclick: () => choose(customer) },
            h("strong", {}, customer.name), h("span", { class: "muted" }, contact(customer))))),
        data.items.length ? null : h("li", { class: "muted" }, _("No customer found.")),
        h("li", {}, h("button", { class: "btn secondary", type: "button", id: "customer-new", onclick: () => newForm(q) }, _("New customer"))));
    } catch (error) {
      if (mine === asked) mount(results, h("li", {}, errorBox(whyRefused(error))));
    }
  }

  function newForm(typed) {
    mount(results);
    const looksLikeEmail = typed.includes("@");
    const looksLikePhone = /^[+\d][\d .]*$/.test(typed);
    const name = h("input", { id: "new-name", maxlength: "120", autocomplete: "off", value: looksLikeEmail || looksLikePhone ? "" : typed });
    const email = h("input", { id: "new-email", type: "email", maxlength: "254", autocomplete: "off", value: looksLikeEmail ? typed : "" });
    const phone = h("input", { id: "new-phone", type: "tel", maxlength: "32", autocomplete: "off", value: looksLikePhone ? typed : "" });
    const service = h("input", { id: "new-consent-service", type: "checkbox" });
    const marketing = h("input", { id: "new-consent-marketing", type: "checkbox" });
    const result = h("div", { "aria-live": "polite" });
    const save = h("button", { class: "btn primary", type: "button", id: "new-save" }, _("Register the customer"));
    save.addEventListener("click", async () => {
      const body = { name: name.value.trim(), email: email.value.trim() || null, phone: phone.value.trim() || null, consents: [] };
      if (!body.name) return mount(result, errorBox(_("The customer's name is needed.")));
      if (!body.email && !body.phone) return mount(result, errorBox(_("An e-mail address or a mobile is needed.")));
      if (service.checked) body.consents.push(consent("service", SERVICE_WORDING()));
      if (marketing.checked) body.consents.push(consent("marketing", MARKETING_WORDING()));
      save.disabled = true;
      try {
        const { data } = await request("POST", "/customers", { body });
        toast(_("Customer registered: {name}", { name: data.name }));
        choose(data);
      } catch (error) {
        save.disabled = false;
        if (error instanceof ApiError && error.code === "customer_exists" && error.errors?.customer_id) {
          try {
            const { data } = await request("GET", `/customers/${enc(error.errors.customer_id)}`);
            toast(_("Already a customer: {name}", { name: data.name }), "warn");
            choose(data);
            return;
          } catch (again) {
            mount(result, errorBox(whyRefused(again)));
            return;
          }
        }
        mount(result, errorBox(whyRefused(error)));
      }
    });
    mount(form,
      h("div", { class: "two" }, field(_("Name"), name), field(_("Mobile"), phone)),
      field(_("E-mail"), email),
      h("label", { class: "consent" }, service, h("span", {}, SERVICE_WORDING())),
      h("label", { class: "consent" }, marketing, h("span", {}, MARKETING_WORDING())),
      save,
      result);
    name.focus();
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(find, 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // not the hold's submit
      clearTimeout(timer);
      find();
    }
  });
  return { node, chosen: () => chosen };
}

// "Prévenir le client au retour en stock": pick the customer, record their consent if they
// give it now, and queue the request (it waits for the network like any tap).
export function backInStockSheet(product) {
  let customer = null;
  const agree = h("input", { id: "alert-consent", type: "checkbox" });
  const agreeRow = h("label", { class: "consent", hidden: true }, agree, h("span", {}, SERVICE_WORDING()));
  const confirm = h("button", { class: "btn primary big", type: "button", id: "alert-confirm", disabled: true }, _("Tell them when it is back"));
  const result = h("div", { "aria-live": "polite" });
  const update = () => {
    const informed = agreedToBeTold(customer);
    agreeRow.hidden = !customer || informed;
    confirm.disabled = !customer || (!informed && !agree.checked);
  };
  agree.addEventListener("change", update);
  const picker = customerPicker({
    label: _("Customer"),
    onChange: (next) => {
      customer = next;
      agree.checked = false;
      mount(result);
      update();
    },
  });
  const opened = sheet(_("Tell the customer when it is back"),
    h("p", { class: "sheet-product" }, h("strong", {}, product.name)),
    picker.node, agreeRow, confirm, result);
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    const label = { sku: product.sku, name: product.name, text: customer.name };
    if (!agreedToBeTold(customer)) {
      await submit({ kind: "consent", method: "POST", path: `/customers/${enc(customer.id)}/consents`, body: { consents: [consent("service", SERVICE_WORDING())] }, label });
    }
    const item = await submit({ kind: "stock_alert", method: "POST", path: `/customers/${enc(customer.id)}/stock-alerts`, body: { sku: product.sku }, label });
    if (item.state === "done") {
      toast(_("Noted: {customer} will be told when {product} is back.", { customer: customer.name, product: product.name }));
      opened.close();
    } else if (item.state === "pending") {
      toast(_("No network: queued, it will be sent as soon as possible."), "warn");
      opened.close();
    } else {
      mount(result, errorBox(_("Refused: {reason}", { reason: refusal(item.error) })));
      update();
    }
  });
  return opened;
}
