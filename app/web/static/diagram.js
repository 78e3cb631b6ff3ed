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
 * The diagram is fitted to the box's width (the box takes the height it needs, refitted when the width
 * changes), labels are laid out in a CJK font (task names larger when the fitted diagram is small), and 放大 / 缩小 / 适应宽度 buttons (or Ctrl + wheel) zoom it.
 * Badges sit beside their node. They are built with textContent (never HTML), ids unknown to the diagram
 * are skipped. The bpmn.io watermark that the viewer draws stays visible and unchanged, as its licence
 * requires.
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

  // Badges sit beside the node's top-right corner (never over the node or its label below it); they keep
  // their size when the diagram is zoomed out.
  const BESIDE = {top: -10, right: -6};
  // Labels in a CJK font: 13 px inside tasks, 12 px beside events and gateways (the width the diagram gives
  // them); the box is as tall as the fitted diagram needs, so they are not shrunk to 7 px.
  const FONT = '"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif';
  function styles(scale) {
    // a diagram shrunk to fit is laid out again with larger text inside its tasks, so that they read at
    // about 12 px on screen; the labels beside events and gateways keep 12 px (larger, they would run
    // into each other in the room the diagram gives them)
    const grow = Math.min(1.35, Math.max(1, 0.95 / scale));
    return {defaultStyle: {fontFamily: FONT, fontSize: Math.round(13 * grow), lineHeight: 1.2},
            externalStyle: {fontFamily: FONT, fontSize: 12, lineHeight: 1.2}};
  }

  function fitScale(viewer, container) {
    const inner = viewer.get("canvas").viewbox().inner;
    return inner.width ? ((container.clientWidth || 800) - 2 * MARGIN) / inner.width : 1;
  }
  const MIN_HEIGHT = 220, MAX_HEIGHT = 760, MARGIN = 24;

  function decorate(viewer, options) {
    const registry = viewer.get("elementRegistry");
    const overlays = viewer.get("overlays");
    const canvas = viewer.get("canvas");
    for (const [id, n] of Object.entries(options.counts || {})) {
      if (!registry.get(id) || !(n > 0)) continue;
      overlays.add(id, "count", {position: BESIDE, scale: false, html: badge(n, "count", n + " 件办理中")});
      if (options.marker) canvas.addMarker(id, options.marker);
    }
    for (const [id, n] of Object.entries(options.ended || {})) {
      if (!registry.get(id) || !(n > 0)) continue;
      overlays.add(id, "count", {position: BESIDE, scale: false, html: badge(n, "count ended", n + " 件在此办结")});
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

  // Fit the whole diagram to the box's width; the box takes the height that width needs (within bounds),
  // so no half of it stays empty.
  function fitWidth(viewer, container) {
    const canvas = viewer.get("canvas");
    const inner = canvas.viewbox().inner;
    if (!inner.width || !inner.height) return;
    const width = container.clientWidth || 800;
    const scale = (width - 2 * MARGIN) / inner.width;
    const height = Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, Math.ceil(inner.height * scale + 2 * MARGIN)));
    container.style.height = height + "px";
    canvas.resized();
    canvas.zoom("fit-viewport", "auto");
  }

  function button(label, title, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", action);
    return b;
  }

  // 放大 / 缩小 / 适应宽度 (the mouse wheel with Ctrl zooms too, dragging moves the diagram).
  function controls(viewer, container) {
    const canvas = viewer.get("canvas");
    const bar = document.createElement("div");
    bar.className = "diagram-zoom";
    const by = function (factor) {
      return function () { canvas.zoom(canvas.zoom() * factor, "auto"); };
    };
    bar.append(button("+", "放大", by(1.25)), button("−", "缩小", by(0.8)),
               button("适应宽度", "适应宽度", function () { fitWidth(viewer, container); }));
    container.append(bar);
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
    let viewer = new BpmnJS({container: container, textRenderer: styles(1)});
    try {
      await viewer.importXML(xml);
      const scale = fitScale(viewer, container);
      if (scale < 0.9) {
        viewer.destroy();
        viewer = new BpmnJS({container: container, textRenderer: styles(scale)});
        await viewer.importXML(xml);
      }
    } catch (err) {
      fail(container, "流程图无法显示：" + err.message);
      throw err;
    }
    fitWidth(viewer, container);
    decorate(viewer, options || {});
    controls(viewer, container);
    let last = container.clientWidth;
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(function () {
        if (container.clientWidth !== last) { last = container.clientWidth; fitWidth(viewer, container); }
      }).observe(container);
    }
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
