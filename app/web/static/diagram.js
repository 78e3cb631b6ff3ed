/*
 * Draws a stored BPMN diagram with the vendored bpmn-js viewer (global `BpmnJS`, loaded before this
 * file) and decorates its nodes. Shared by the manager's dashboard and the auditor's case pages.
 *
 *   renderDiagram(container, xmlUrl, {
 *     counts: {nodeId: n},   // a red badge with n on each node (e.g. open cases on a task)
 *     ended:  {nodeId: n},   // a green badge with n (e.g. cases finished at an end event)
 *     taken:  [nodeId, ...], // the marker "taken" on each node (the path a case took)
 *     marker: "has-cases",   // optional: this marker on every node with a count > 0
 *   }) -> Promise<viewer>
 *
 * Or declaratively, without any inline script: an element with data-diagram-src="/diagrams/<hash>.bpmn"
 * and optional data-diagram-counts / data-diagram-ended / data-diagram-taken (JSON) and
 * data-diagram-marker is rendered when the page has loaded.
 *
 * Badges are built with textContent (never HTML), ids unknown to the diagram are skipped. The bpmn.io
 * watermark that the viewer draws stays visible and unchanged, as its licence requires.
 */
(function () {
  "use strict";

  function badge(n, cls, title) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = String(n);
    span.title = title;
    return span;
  }

  function decorate(viewer, options) {
    const registry = viewer.get("elementRegistry");
    const overlays = viewer.get("overlays");
    const canvas = viewer.get("canvas");
    const place = {top: -10, right: 10};  // scale: false keeps badges readable when the diagram is zoomed out
    for (const [id, n] of Object.entries(options.counts || {})) {
      if (!registry.get(id) || !(n > 0)) continue;
      overlays.add(id, "count", {position: place, scale: false, html: badge(n, "count", n + " 件办理中")});
      if (options.marker) canvas.addMarker(id, options.marker);
    }
    for (const [id, n] of Object.entries(options.ended || {})) {
      if (!registry.get(id) || !(n > 0)) continue;
      overlays.add(id, "count", {position: place, scale: false, html: badge(n, "count ended", n + " 件在此办结")});
    }
    for (const id of options.taken || []) {
      if (registry.get(id)) canvas.addMarker(id, "taken");
    }
  }

  function fail(container, message) {
    const p = document.createElement("p");
    p.className = "alert error";
    p.textContent = message;
    container.replaceChildren(p);
  }

  async function renderDiagram(container, xmlUrl, options) {
    if (typeof BpmnJS === "undefined") {
      fail(container, "流程图组件未能加载。");
      throw new Error("bpmn-js is not loaded");
    }
    let xml;
    try {
      const response = await fetch(xmlUrl, {credentials: "same-origin", headers: {Accept: "application/xml"}});
      if (!response.ok) throw new Error("HTTP " + response.status);
      xml = await response.text();
    } catch (err) {
      fail(container, "流程图读取失败：" + err.message);
      throw err;
    }
    const viewer = new BpmnJS({container: container});
    try {
      await viewer.importXML(xml);
    } catch (err) {
      fail(container, "流程图无法显示：" + err.message);
      throw err;
    }
    viewer.get("canvas").zoom("fit-viewport");
    decorate(viewer, options || {});
    container.dataset.diagramReady = "true";  // for tests and screenshots
    return viewer;
  }

  function json(el, name, fallback) {
    const text = el.dataset[name];
    if (!text) return fallback;
    try { return JSON.parse(text); } catch (err) { return fallback; }
  }

  function renderAll() {
    for (const el of document.querySelectorAll("[data-diagram-src]")) {
      renderDiagram(el, el.dataset.diagramSrc, {
        counts: json(el, "diagramCounts", {}),
        ended: json(el, "diagramEnded", {}),
        taken: json(el, "diagramTaken", []),
        marker: el.dataset.diagramMarker || null,
      }).catch(function (err) { console.error(err); });
    }
  }

  window.renderDiagram = renderDiagram;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderAll);
  } else {
    renderAll();
  }
})();
