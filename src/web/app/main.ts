import { h, render } from "preact";
import { App } from "./App.ts";

const root = document.getElementById("app")!;
root.textContent = ""; // the "Loading…" placeholder shown before this module ran
render(h(App, null), root);
