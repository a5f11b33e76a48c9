import { getListStatus, getSettings, saveSettings } from "./lib/state.js";

const form = document.getElementById("form");
const status = document.getElementById("status");

async function load() {
  const settings = await getSettings();
  document.getElementById("apiBase").value = settings.apiBase;
  document.getElementById("apiKey").value = settings.apiKey;
  form.querySelector(`input[name=mode][value=${settings.mode}]`).checked = true;
  const lists = await getListStatus();
  if (lists && !lists.ok) status.textContent = `Lists not updated: ${lists.reason}.`;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const mode = form.querySelector("input[name=mode]:checked").value;
  await saveSettings({
    apiBase: document.getElementById("apiBase").value.trim(),
    apiKey: document.getElementById("apiKey").value.trim(),
    mode,
  });
  status.textContent = "Saved.";
});

load().catch((error) => {
  status.textContent = `Could not load the options: ${error.message || error}`;
});
