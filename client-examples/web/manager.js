// The manager page: log in, follow the order feed live, see overdue orders, confirm orders.
// Plain JavaScript against the GraphQL API (HTTP for queries and mutations, a WebSocket with the
// graphql-transport-ws protocol for the `orderEvents` subscription). No build step.
"use strict";

const HTTP_URL = new URL("/graphql", location.href).toString();
const WS_URL = HTTP_URL.replace(/^http/, "ws");
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("backoffice-token");
let socket = null;
let lastEventId = null;
let refreshTimer = null;

async function gql(query, variables = {}) {
  const response = await fetch(HTTP_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const code = (body.errors[0].extensions || {}).code;
    if (code === "UNAUTHENTICATED") logOut();
    throw new Error(body.errors[0].message);
  }
  return body.data;
}

const LOG_IN = `mutation($input: LogInInput!) { logIn(input: $input) { token account { name } userErrors { message } } }`;
const ME = `{ me { email account { name } } }`;
const ORDER_FIELDS = `id number status total confirmDeadline overdue customer { name }`;
const NEW_ORDERS = `{ orders(filter: {statuses: [NEW]}, first: 100) { nodes { ${ORDER_FIELDS} } } }`;
const OVERDUE = `{ overdueOrders(first: 100) { nodes { ${ORDER_FIELDS} } } }`;
const CONFIRM = `mutation($input: SetOrderStatusInput!) { setOrderStatus(input: $input) {
  order { ${ORDER_FIELDS} } userErrors { message } } }`;
const FEED = `subscription($after: ID) { orderEvents(afterEventId: $after) {
  id type at fromStatus toStatus order { id number status } } }`;

function text(value) {
  const span = document.createElement("span");
  span.textContent = value == null ? "" : String(value);
  return span.innerHTML;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function renderNew(orders) {
  $("new-orders").innerHTML = orders
    .map(
      (o) => `<tr data-number="${o.number}" data-id="${text(o.id)}" class="${o.overdue ? "overdue" : ""}">
        <td>${o.number}</td><td>${text(o.customer && o.customer.name)}</td><td>${text(o.total)}</td>
        <td>${when(o.confirmDeadline)}</td><td class="status">${text(o.status)}</td>
        <td><button class="confirm" type="button">Confirm</button></td></tr>`
    )
    .join("");
}

function renderOverdue(orders) {
  $("overdue-orders").innerHTML = orders
    .map(
      (o) => `<tr data-number="${o.number}" class="overdue"><td>${o.number}</td>
        <td>${text(o.customer && o.customer.name)}</td><td>${when(o.confirmDeadline)}</td>
        <td class="status">${text(o.status)}</td></tr>`
    )
    .join("");
}

async function refresh() {
  const [fresh, overdue] = await Promise.all([gql(NEW_ORDERS), gql(OVERDUE)]);
  renderNew(fresh.orders.nodes);
  renderOverdue(overdue.overdueOrders.nodes);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(showError), 150);
}

function addToFeed(event) {
  const item = document.createElement("li");
  const order = event.order || {};
  const change = event.toStatus ? ` ${event.fromStatus || ""}→${event.toStatus}` : "";
  item.dataset.number = order.number;
  item.dataset.type = event.type;
  item.textContent = `${new Date(event.at).toLocaleTimeString()} #${order.number} ${event.type}${change}`;
  $("feed").prepend(item);
}

function follow() {
  if (socket) socket.close();
  socket = new WebSocket(WS_URL, "graphql-transport-ws");
  socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } }));
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "connection_ack") {
      $("live").textContent = "live";
      socket.send(JSON.stringify({ id: "feed", type: "subscribe", payload: { query: FEED, variables: { after: lastEventId } } }));
    } else if (data.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    } else if (data.type === "next" && data.payload.data) {
      const event = data.payload.data.orderEvents;
      lastEventId = event.id;
      addToFeed(event);
      scheduleRefresh();
    } else if (data.type === "next" || data.type === "error" || data.type === "complete") {
      // The server ended the feed (SUBSCRIPTION_ENDED): resume after the last event seen.
      socket.close();
    }
  };
  socket.onclose = () => {
    $("live").textContent = "reconnecting…";
    if (token) setTimeout(follow, 1000);
  };
}

function showError(error) {
  $("error").textContent = error.message || String(error);
  console.error(error);
}

async function start() {
  $("login-form").hidden = true;
  $("app").hidden = false;
  const me = await gql(ME);
  $("account").textContent = me.me.account.name;
  await refresh();
  follow();
  setInterval(() => refresh().catch(showError), 15000);
}

function logOut() {
  token = null;
  sessionStorage.removeItem("backoffice-token");
  if (socket) socket.close();
  $("app").hidden = true;
  $("login-form").hidden = false;
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  try {
    const data = await gql(LOG_IN, { input: { email: $("email").value, password: $("password").value } });
    const payload = data.logIn;
    if (payload.userErrors.length) throw new Error(payload.userErrors[0].message);
    token = payload.token;
    sessionStorage.setItem("backoffice-token", token);
    await start();
  } catch (error) {
    showError(error);
  }
});

$("new-orders").addEventListener("click", async (event) => {
  const button = event.target.closest("button.confirm");
  if (!button) return;
  const row = button.closest("tr");
  button.disabled = true;
  try {
    const data = await gql(CONFIRM, { input: { orderId: row.dataset.id, status: "CONFIRMED" } });
    const payload = data.setOrderStatus;
    if (payload.userErrors.length) throw new Error(payload.userErrors[0].message);
    row.querySelector(".status").textContent = payload.order.status;
    scheduleRefresh();
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
});

$("logout").addEventListener("click", logOut);

if (token) start().catch(() => logOut());
else $("login-form").hidden = false;
