// Measures a consent banner from inside the page for `cargo xtask bench`. Loaded first and
// synchronously, before the banner's own scripts. All times are performance.now() values:
// milliseconds since navigation start.
//   visible      first animation frame in which the banner has a box, text, and no hidden or
//                transparent ancestor;
//   interactive  when a task queued at `visible` runs: the main thread is free to take a click;
//   blocking     total blocking time: the part over 50 ms of each long task that started
//                before `interactive`;
//   click        the first click (capture phase, before the banner's own listener);
//   gone         first frame after the click without the banner;
//   tag          when a gated tag first ran (the tags set it);
//   memory       kelisim only: the bytes of the module's linear memory when the banner showed.
(function () {
  var selector = document.currentScript.getAttribute("data-banner");
  var result = { visible: null, interactive: null, blocking: 0, longTasks: 0, click: null, gone: null, tag: null, memory: null };
  window.__bench = result;
  // The linear memory of each WebAssembly instance the page starts (kelisim's loader starts
  // its module with WebAssembly.instantiate), watched from here so the product carries no
  // benchmark hook.
  var memories = [];
  var instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = function () {
    return instantiate.apply(WebAssembly, arguments).then(function (started) {
      var exports = (started.instance || started).exports;
      for (var name in exports) {
        if (exports[name] instanceof WebAssembly.Memory) memories.push(exports[name]);
      }
      return started;
    });
  };
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        if (result.interactive === null || entry.startTime < result.interactive) {
          result.blocking += Math.max(0, entry.duration - 50);
          result.longTasks += 1;
        }
      });
    }).observe({ type: "longtask", buffered: true });
  } catch (error) {
    result.blocking = -1;
  }
  document.addEventListener("click", function () {
    if (result.click === null) result.click = performance.now();
  }, true);
  function shown(element) {
    if (!element || !element.getClientRects().length || !element.textContent.trim()) return false;
    for (var node = element; node && node.nodeType === 1; node = node.parentNode) {
      var style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden" || parseFloat(style.opacity) === 0) return false;
    }
    return true;
  }
  function frame() {
    var now = performance.now();
    var visible = shown(document.querySelector(selector));
    if (visible && result.visible === null) {
      result.visible = now;
      if (memories.length) result.memory = memories[0].buffer.byteLength;
      setTimeout(function () { result.interactive = performance.now(); }, 0);
    }
    if (!visible && result.click !== null && result.gone === null) result.gone = now;
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})();
