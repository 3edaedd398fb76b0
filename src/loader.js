/*! kelisim loader | https://github.com/kelisim/kelisim | MIT OR Apache-2.0 */
// The one script a store embeds (`pkg/kelisim.js`: this file with the wasm-bindgen glue bundled
// in by `cargo xtask build`, so a page fetches one script and the .wasm). Synchronously,
// before anything else, it
//   1. sends Google Consent Mode v2 defaults (`denied`) when the tag has data-google-consent-mode,
//   2. installs `window.kelisim` as a command queue, so calls made before the module is ready
//      are kept and replayed in order,
// then loads the WebAssembly module and the config (data-config) in parallel.
// It finds kelisim_sdk_bg.wasm next to its own URL, so pkg/ can be copied anywhere.
// Imported as an ES module (the npm package's index.js), it only installs the queue, and
// index.js calls `__load` with the module's URL.
import {
  command as moduleCommand,
  __wbg_get_imports as moduleImports,
  __wbg_finalize_init as startModule
} from './kelisim_sdk.js';

(function () {
  'use strict';
  var w = window;
  var existing = w.kelisim;
  if (existing && existing.__kelisimLoader) return; // the tag is on the page twice

  var script = document.currentScript;
  var consentModeDefaults = false;
  // Google Consent Mode v2 defaults, once: everything denied but security_storage.
  function sendConsentModeDefaults() {
    if (consentModeDefaults) return;
    w.dataLayer = w.dataLayer || [];
    // Google's own stub: gtag must push the `arguments` object.
    w.gtag = w.gtag || function () { w.dataLayer.push(arguments); };
    w.gtag('consent', 'default', {
      ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied',
      analytics_storage: 'denied', functionality_storage: 'denied',
      personalization_storage: 'denied', security_storage: 'granted', wait_for_update: 500
    });
    consentModeDefaults = true;
  }
  if (script && script.hasAttribute('data-google-consent-mode')) sendConsentModeDefaults();

  var COMMANDS = ['init', 'show', 'showPreferences', 'hide', 'acceptAll', 'rejectAll', 'accept',
    'withdraw', 'setLanguage', 'on', 'off', 'destroy', 'formConsent'];
  // A site may have queued commands as arrays before the loader ran: window.kelisim = [['on', ...]].
  var queue = Array.isArray(existing) ? existing.slice() : [];
  // The module's one export, command(name, args), once the module has started.
  var sdk = null;

  // The module reports unknown command names itself.
  function run(command) {
    var name = command[0], args = command.slice(1);
    if (name === 'init') args = [args[0], { consentModeDefaults: consentModeDefaults }];
    return sdk(name, args);
  }

  // Fetches and instantiates the module from `wasmUrl`; resolves once it has started.
  // Compiled while it downloads; a server that sends .wasm without the application/wasm type
  // makes instantiateStreaming refuse before reading the body, so the bytes are compiled then.
  function load(wasmUrl) {
    var imports = moduleImports();
    return fetch(wasmUrl).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return WebAssembly.instantiateStreaming(response, imports).catch(function () {
        return response.arrayBuffer().then(function (bytes) {
          return WebAssembly.instantiate(bytes, imports);
        });
      });
    }).then(function (result) {
      startModule(result.instance, result.module);
    });
  }

  var api = {
    __kelisimLoader: true,
    // Queries answer "nothing granted" until the module is ready: no tag may run before then.
    accepted: function (category) { return sdk ? run(['accepted', category]) : false; },
    acceptedService: function (id) { return sdk ? run(['acceptedService', id]) : false; },
    getConsent: function () { return sdk ? run(['getConsent']) : null; },
    // For the npm package (no script tag): send the Consent Mode defaults now, before tags.
    consentModeDefaults: sendConsentModeDefaults,
    // True once the module has started (calls run at once instead of being queued).
    loaded: false,
    // For index.js: loads the module from `wasmUrl`, then replays the queue; resolves to the API.
    __load: function (wasmUrl) {
      return load(wasmUrl).then(function () {
        attach();
        return api;
      });
    }
  };
  // Called once the module has started; replays the queue in order.
  function attach() {
    sdk = moduleCommand;
    api.loaded = true;
    var pending = queue;
    queue = [];
    for (var i = 0; i < pending.length; i++) run(pending[i]);
  }
  COMMANDS.forEach(function (name) {
    api[name] = function () {
      var command = [name].concat(Array.prototype.slice.call(arguments));
      if (sdk) return run(command);
      queue.push(command);
      return undefined;
    };
  });
  api.push = function (command) {
    if (sdk) return run(command);
    queue.push(command);
    return undefined;
  };
  w.kelisim = api;

  if (!script || !script.src) return; // imported as a module: index.js calls __load.

  var base = script.src;
  var configUrl = script.getAttribute('data-config');
  var config = configUrl
    ? fetch(new URL(configUrl, document.baseURI).href, { credentials: 'same-origin' }).then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      }).catch(function (error) {
        console.error('kelisim: could not load the config from data-config="' + configUrl + '": ' + error.message +
          '. Nothing is shown until it loads.');
        return null;
      })
    : Promise.resolve(null);

  load(new URL('kelisim_sdk_bg.wasm', base))
    .then(function () {
      return config.then(function (loaded) {
        // Listeners first, so a queued on('shown') hears the banner that init shows.
        var listeners = queue.filter(function (c) { return c[0] === 'on' || c[0] === 'off'; });
        var rest = queue.filter(function (c) { return c[0] !== 'on' && c[0] !== 'off'; });
        queue = listeners.concat(loaded ? [['init', loaded]] : [], rest);
        attach();
      });
    })
    .catch(function (error) {
      console.error('kelisim: could not load the SDK module next to ' + base + ': ' + error.message);
    });
})();
