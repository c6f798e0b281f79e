// The console's entry: finish or start sign-in, then show the view the address names.
import { finishSignIn, session, signOut, startSignIn } from "./auth.js";
import { errorBox, h } from "./dom.js";
import { ingestionsView } from "./ingestions.js";
import { lineageView } from "./lineage.js";
import { qualityView } from "./quality.js";
import { readinessView } from "./readiness.js";
import { recallView } from "./recall.js";

const VIEWS = {
  lineage: lineageView,
  recall: recallView,
  quality: qualityView,
  readiness: readinessView,
  ingestions: ingestionsView,
};

const main = document.getElementById("view");

function viewName() {
  const name = location.hash.replace(/^#\//, "").split("?")[0];
  return name in VIEWS ? name : "lineage";
}

async function show() {
  const name = viewName();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === name);
  }
  main.replaceChildren();
  try {
    await VIEWS[name](main);
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
}

function showSignedIn(current) {
  document.getElementById("who").textContent = `${current.org} · ${current.scopes.join(" ")}`;
  const button = document.getElementById("sign-out");
  button.hidden = false;
  button.addEventListener("click", async () => {
    await signOut();
    document.getElementById("who").textContent = "";
    button.hidden = true;
    main.replaceChildren(
      h("div", { class: "panel" }, h("h1", {}, "Signed out"), h("p", {}, "Your session was revoked at the hub."),
        h("button", { type: "button", onclick: () => startSignIn("#/lineage") }, "Sign in again")),
    );
  });
}

async function boot() {
  if (location.pathname === "/console/callback") {
    try {
      await finishSignIn();
    } catch (error) {
      main.replaceChildren(
        h("div", { class: "panel" }, h("h1", {}, "Sign-in failed"), errorBox(error),
          h("button", { type: "button", onclick: () => startSignIn("#/lineage") }, "Sign in again")),
      );
      return;
    }
  }
  const current = session();
  if (!current) {
    await startSignIn(location.hash || "#/lineage");
    return;
  }
  showSignedIn(current);
  window.addEventListener("hashchange", show);
  await show();
}

boot();
