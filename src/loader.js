/*! kelisim loader | https://github.com/kelisim/kelisim | MIT OR Apache-2.0 */
// The one script a store embeds (`pkg/kelisim.js`: this file with the wasm-bindgen glue bundled
// in by `cargo xtask build`, so a page fetches one script and the .wasm). Synchronously,
// before anything else, it
//   1. sends Google Consent Mode v2 defaults (`denied`) when the tag has data-google-consent-mode,
//   2. installs `window.kelisim` as a command queue, so calls made before the module is ready
//      are kept and replayed in order,
// then loads the WebAssembly module and the config (data-config) in parallel.
// It finds kelisim_sdk_bg.wasm next to its own URL, so pkg/ can be copied anywhere.
// The module reads compiled configs only. Given a raw kelisim.json (data-config naming one,
// `kelisim.init(object)` or `kelisim.init(text)`), the loader imports the compiler module beside it
// (kelisim_compiler.js, the same compiler `kelisim-server config build` runs), prints every
// problem at once, and hands the module the compiled config of the visitor's language.
// Consent blocks in forms are another module beside it (kelisim_forms.js): the loader finds
// the forms (`data-kelisim-form`, `kelisim.formConsent`) and imports that module the first
// time the page has a form for kelisim, so the runtime module knows nothing of forms.
// Imported as an ES module (the npm package's index.js), it only installs the queue, and
// index.js calls `__load` with the module's URL.
// `on`/`off` live here, not in the module: the module announces each event as a
// `kelisim:<event>` CustomEvent on window (SPEC), and a listener added with `on` is a window
// listener for it, so it works before the module has loaded and needs no queue.
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

  // Set when data-config names compiled configs per language (below).
  var configFor;
  var COMMANDS = ['init', 'show', 'showPreferences', 'hide', 'acceptAll', 'rejectAll', 'accept',
    'withdraw', 'setLanguage', 'destroy', 'formConsent'];
  var EVENTS = ['ready', 'shown', 'consent', 'change', 'withdraw'];
  var queue = [];
  // The module's one export, command(name, args), once the module has started.
  var sdk = null;
  // [event, listener, the window listener that calls it] for each `on`.
  var subscriptions = [];
  // The detail of the last `ready`: a listener added later still hears it, at once.
  var readyDetail;
  w.addEventListener('kelisim:ready', function (event) { readyDetail = event.detail; });

  function tell(event, listener, detail) {
    try {
      listener(detail);
    } catch (error) {
      console.error('kelisim: a `' + event + '` listener threw: ' + ((error && error.message) || error));
    }
  }

  // Whether `on`/`off` (`method`) got a known event and a function; a console error if not.
  function subscribable(method, event, listener) {
    var problem = EVENTS.indexOf(event) < 0
      ? 'unknown event `' + event + '`; use one of ' + EVENTS.join(', ')
      : typeof listener !== 'function' ? 'the listener for `' + event + '` must be a function' : '';
    if (problem) console.error('kelisim: ' + method + ': ' + problem);
    return !problem;
  }

  function on(event, listener) {
    if (!subscribable('on', event, listener)) return;
    var relay = function (dispatched) { tell(event, listener, dispatched.detail); };
    subscriptions.push([event, listener, relay]);
    w.addEventListener('kelisim:' + event, relay);
    if (event === 'ready' && readyDetail !== undefined) tell(event, listener, readyDetail);
  }

  function off(event, listener) {
    if (!subscribable('off', event, listener)) return;
    subscriptions = subscriptions.filter(function (subscription) {
      var match = subscription[0] === event && subscription[1] === listener;
      if (match) w.removeEventListener('kelisim:' + event, subscription[2]);
      return !match;
    });
  }

  // The module reports unknown command names itself.
  function run(command) {
    var name = command[0], args = command.slice(1);
    if (name === 'on') return on(args[0], args[1]);
    if (name === 'off') return off(args[0], args[1]);
    if (name === 'init' && (isRaw(args[0]) || isRawText(args[0]))) {
      // Compiled first; what is called meanwhile waits in the queue, after this init.
      if (typeof args[0] === 'string') initRaw(args[0], INIT_TEXT);
      else initRaw(JSON.stringify(args[0]), INIT);
      return undefined;
    }
    // Consent in forms is the loader's and the forms module's, not the runtime module's.
    if (name === 'formConsent') return formConsent(args[0], args[1]);
    if (name === 'init') return start(args[0]);
    if (name === 'destroy') {
      // After destroy() a late `on('ready')` waits for the next init's `ready`.
      readyDetail = undefined;
      stopForms();
    }
    return sdk(name, args);
  }

  // Queues a command until the module has started (and a raw config has been compiled);
  // `on` and `off` run at once.
  function runOrQueue(command) {
    if ((sdk && !compiling) || command[0] === 'on' || command[0] === 'off') return run(command);
    queue.push(command);
    return undefined;
  }

  // A raw kelisim.json rather than a compiled config: a plain object without `format`.
  function isRaw(config) {
    return !!config && typeof config === 'object' && !('format' in config);
  }

  // The text of a raw kelisim.json (or text that is not JSON at all: the compiler says where
  // it breaks, by line and column).
  function isRawText(text) {
    if (typeof text !== 'string') return false;
    try {
      return isRaw(JSON.parse(text));
    } catch (error) {
      return true;
    }
  }

  // What the loader tells the module's init: work it did, and how to reach what it loads.
  function initOptions() {
    return { consentModeDefaults: consentModeDefaults, configFor: configOf };
  }

  // The module's `configFor`: the compiled config of `language` (another one only when
  // data-config names one per language), laid over with its preferences dialog when `whole`.
  function configOf(language, whole) {
    var config = running && running.language === language ? Promise.resolve(running)
      : configFor ? configFor(language)
      : Promise.reject(new Error('this compiled config holds one language; give data-config a URL with {lang} so kelisim can fetch `' + language + '`'));
    return config.then(function (config) {
      running = config;
      return whole ? withPreferences(config) : config;
    });
  }

  // Consent in forms. The compiled config the module runs on: the one `init` took, then each
  // one `configFor` fetched for it (the module takes every config of its site it asks for).
  var running = null;
  var FORM_ATTACHED = 'data-kelisim-form-attached';
  var DECLARED_FORMS = 'form[data-kelisim-form]:not([' + FORM_ATTACHED + '])';
  var formsObserver = null;
  // Declared forms refused once (an unknown purpose set): said once, not at every change.
  var refusedForms = new WeakSet();

  // The ids of the running config's purpose sets.
  function purposeSets() {
    return ((running && running.forms) || []).map(function (form) { return form.id; });
  }

  // `kelisim.formConsent(form, {set})`: checks, then hands the form to the forms module.
  function formConsent(form, options) {
    if (typeof form === 'string') {
      try { form = document.querySelector(form); } catch (error) { form = null; } // an invalid selector finds nothing
    }
    var set = options && options.set;
    var problem = !running ? 'formConsent() was called before init() succeeded; it did nothing'
      : !(form && form.nodeType === 1 && form.matches('form')) ? 'formConsent: the first argument must be a <form> element or a selector that finds one'
      : typeof set !== 'string' ? 'formConsent: options.set must name a purpose set of the config, e.g. {set: "signup"}'
      : purposeSets().indexOf(set) < 0 ? 'formConsent: `' + set + '` is not a purpose set of the config (forms: ' + purposeSets().join(', ') + ')'
      : form.hasAttribute(FORM_ATTACHED) ? 'formConsent: this form already has a consent block' : '';
    if (problem) {
      console.error('kelisim: ' + problem);
      return false;
    }
    form.setAttribute(FORM_ATTACHED, set);
    formsCommand('attach', [running, form, set]);
    return true;
  }

  // Where each compiled config fetched came from: the documents it keeps apart
  // (`preferences_href`, `forms_href`) are named relative to that URL.
  var configUrls = new WeakMap();
  // Per config, the promise of each document apart, fetched once.
  var documentsApart = new WeakMap();

  // `config` laid over (by `lay`) with the document apart that its field `href` names, once
  // fetched and checked to belong to it; a promise. kelisim-server and `config build` keep the
  // preferences dialog and the forms apart, so a page view that needs neither loads neither;
  // a raw config compiled here has them in the body, and no `href`.
  function apart(config, href, lay) {
    if (!config[href]) return Promise.resolve(config);
    var fetched = documentsApart.get(config) || {};
    documentsApart.set(config, fetched);
    var url = new URL(config[href], configUrls.get(config) || document.baseURI).href;
    fetched[href] = fetched[href] || fetch(url, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.json();
    }).then(function (part) {
      if (part.config_id !== config.config_id) {
        throw new Error('it belongs to another compiled config (config_id ' + part.config_id +
          '); serve the files of one `config build` together');
      }
      return part;
    }).catch(function (error) {
      delete fetched[href]; // the next attempt fetches again
      throw new Error('could not load ' + url + ': ' + error.message);
    });
    return fetched[href].then(function (part) { return lay(Object.assign({}, config), part); });
  }

  // `config` with its forms whole (each with its block's tree), for the forms module.
  function withForms(config) {
    return apart(config, 'forms_href', function (whole, part) {
      whole.forms = part.forms;
      return whole;
    });
  }

  // `config` with its preferences dialog (and each banner variant's), for the module: it asks
  // when the visitor opens the preferences (`configOf`).
  function withPreferences(config) {
    return apart(config, 'preferences_href', function (whole, part) {
      delete whole.preferences_href;
      whole.preferences_style = part.style;
      whole.layers = { banner: config.layers.banner, preferences: part.preferences };
      whole.variants = config.variants.map(function (variant) {
        var own = part.variants.filter(function (item) { return item.id === variant.id; })[0];
        return Object.assign({}, variant, {
          layers: { banner: variant.layers.banner, preferences: own && own.preferences }
        });
      });
      return whole;
    });
  }

  // The preferences open from these: their tree is fetched as soon as a pointer or the focus
  // reaches one, so it is usually here by the click.
  var PREFERENCES_OPENERS = '[data-kelisim-action=preferences],[data-kelisim="open"],[data-cc="show-preferencesModal"]';
  function prefetchPreferences(event) {
    var target = event.target;
    if (running && target.closest && target.closest(PREFERENCES_OPENERS)) {
      withPreferences(running).catch(function () { /* said when the visitor asks for them */ });
    }
  }
  document.addEventListener('pointerover', prefetchPreferences, true);
  document.addEventListener('focusin', prefetchPreferences, true);

  // Every `<form data-kelisim-form="<set>">` not handled yet, now and whenever the page changes.
  function attachDeclaredForms() {
    var forms = document.querySelectorAll(DECLARED_FORMS);
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (!refusedForms.has(form) && !formConsent(form, { set: form.getAttribute('data-kelisim-form') })) refusedForms.add(form);
    }
  }

  // Starts the module with compiled config `config` (an object, or its JSON text). The forms
  // know the config before the module's `ready` listeners run, which may call formConsent.
  function start(config) {
    var previous = running;
    try {
      running = typeof config === 'string' ? JSON.parse(config) : config;
    } catch (error) {
      running = null; // the module says what is wrong with it
    }
    var started = sdk('init', [config, initOptions()]);
    if (started) startForms();
    else running = previous;
    return started;
  }

  function startForms() {
    attachDeclaredForms();
    formsObserver = new MutationObserver(attachDeclaredForms);
    formsObserver.observe(document.documentElement, { childList: true, subtree: true });
  }

  function stopForms() {
    running = null;
    if (formsObserver) formsObserver.disconnect();
    formsObserver = null;
    formsCommand('destroy', []);
  }

  // The forms module's glue (kelisim_forms.js, beside the module), imported the first time a
  // form is handed over, so pages without forms never load it; a promise of its `command`.
  // Commands run in the order given, once it has loaded.
  var formsUrl;
  var formsModule;
  function formsCommand(name, args) {
    if (!formsModule) {
      if (name !== 'attach') return; // nothing handed over yet: nothing to release
      formsModule = import(formsUrl).then(function (forms) {
        return forms.default().then(function () { return forms.command; });
      }, function (error) {
        throw new Error('could not load the forms module (' + formsUrl + '): ' + ((error && error.message) || error));
      });
    }
    var ready = name === 'attach'
      ? Promise.all([formsModule, withForms(args[0])]).then(function (both) {
        args[0] = both[1];
        return both[0];
      })
      : formsModule;
    ready.then(function (command) { command(name, args); }, function (error) {
      if (name === 'attach') {
        args[1].removeAttribute(FORM_ATTACHED);
        console.error('kelisim: ' + error.message + '. The form has no consent block.');
      }
    });
  }

  // The compiler module's URL: beside kelisim.js, or beside the module the npm entry loads.
  var compilerUrl;
  // True from a raw config's init until its compiled config has started the module.
  var compiling = false;
  var toldAboutCompiling = false;
  // Where a raw config came from, for messages: an object has no lines worth naming, a text does.
  var INIT = 'kelisim.init()';
  var INIT_TEXT = 'kelisim.init(text)';

  // Compiles the raw config `text` (read from `source`, for messages), then starts the
  // module with the compiled config of the visitor's language and replays what waited.
  function initRaw(text, source) {
    compiling = true;
    import(compilerUrl).then(function (compiler) {
      return compiler.default().then(function () {
        return JSON.parse(compiler.compile(text, source, source !== INIT));
      });
    }).then(function (answer) {
      if (answer.error) return console.error(answer.error);
      if (!toldAboutCompiling) {
        toldAboutCompiling = true;
        console.info('kelisim: compiled the raw config from ' + source + ' in the browser (the compiler ' +
          'module is @KELISIM_COMPILER_KB@ KB of gzip). A compiled config loads faster: kelisim-server ' +
          'serves it (data-config="/v1/config/<site>/{lang}"), `kelisim-server config build` writes it.');
      }
      var configs = answer.configs;
      configFor = function (language) { return Promise.resolve(configs[language] || configs['default']); };
      compiling = false;
      start(configs[guessLanguage()] || configs['default']);
    }).catch(function (error) {
      console.error('kelisim: could not load the config compiler (' + compilerUrl + ') for the raw config from ' +
        source + ': ' + ((error && error.message) || error) + '. Nothing is shown.');
    }).then(function () {
      compiling = false;
      var pending = queue;
      queue = [];
      for (var i = 0; i < pending.length; i++) runOrQueue(pending[i]);
    });
  }

  // The visitor's language before the config is known: the saved choice, then <html lang>,
  // then the browser's languages, else the site's default.
  function guessLanguage() {
    var saved = /(?:^|; )kelisim=1\.[^.;]*\.[^.;]*\.[^.;]*\.([a-z]{2})\./.exec(document.cookie);
    var candidates = [saved && saved[1], document.documentElement.lang].concat(navigator.languages || []);
    for (var i = 0; i < candidates.length; i++) {
      var code = String(candidates[i] || '').toLowerCase().split('-')[0];
      if (code === 'kz') code = 'kk';
      if (code === 'kk' || code === 'ru' || code === 'en') return code;
    }
    return 'default';
  }

  // The build this script's glue belongs to; `cargo xtask build` writes it here and into the
  // module's `kelisim` custom section. The glue binds the module's imports by short names
  // that every build assigns anew, so a module of another build would run with the wrong
  // browser functions, silently. Caches keep the two files apart (a store copies a new pkg/
  // over the old one; the browser or a CDN may serve one file stale): such a module is fetched
  // once more past the caches, and refused if the server itself has another build.
  var BUILD = '@KELISIM_BUILD@';

  // Fetches and compiles the module from `wasmUrl` (`init`: fetch options).
  // Compiled while it downloads; a server that sends .wasm without the application/wasm type
  // makes compileStreaming refuse before reading the body, so the bytes are compiled then.
  // Any other failure has read the body already and is reported as it is.
  function compile(wasmUrl, init) {
    return fetch(wasmUrl, init).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return WebAssembly.compileStreaming(response).catch(function (error) {
        if (response.bodyUsed) throw error;
        return response.arrayBuffer().then(function (bytes) {
          return WebAssembly.compile(bytes);
        });
      });
    });
  }

  function buildOf(module) {
    var section = WebAssembly.Module.customSections(module, 'kelisim')[0];
    return section ? new TextDecoder().decode(section) : 'unknown';
  }

  // Fetches, checks and instantiates the module; resolves once it has started.
  function load(wasmUrl) {
    return compile(wasmUrl).then(function (module) {
      return buildOf(module) === BUILD ? module : compile(wasmUrl, { cache: 'reload' }).then(function (fresh) {
        if (buildOf(fresh) !== BUILD) {
          throw new Error('kelisim_sdk_bg.wasm is of build ' + buildOf(fresh) + ' and this kelisim.js of build ' +
            BUILD + '; serve the two files of one pkg/ together');
        }
        return fresh;
      });
    }).then(function (module) {
      return WebAssembly.instantiate(module, moduleImports()).then(function (instance) {
        startModule(instance, module);
      });
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
      compilerUrl = new URL('kelisim_compiler.js', wasmUrl).href;
      formsUrl = new URL('kelisim_forms.js', wasmUrl).href;
      return load(wasmUrl).then(function () {
        attach();
        return api;
      });
    }
  };
  // Called once the module has started; replays the queue in order (a raw config's init
  // holds the rest back until it is compiled).
  function attach() {
    sdk = moduleCommand;
    api.loaded = true;
    var pending = queue;
    queue = [];
    for (var i = 0; i < pending.length; i++) runOrQueue(pending[i]);
  }
  COMMANDS.forEach(function (name) {
    api[name] = function () {
      return runOrQueue([name].concat(Array.prototype.slice.call(arguments)));
    };
  });
  api.on = on;
  api.off = off;
  api.push = runOrQueue;
  // A site may have queued commands as arrays before the loader ran:
  // window.kelisim = [['on', 'consent', fn], ['acceptAll']]. Listeners subscribe now.
  if (Array.isArray(existing)) existing.forEach(runOrQueue);
  w.kelisim = api;

  if (!script || !script.src) return; // imported as a module: index.js calls __load.

  var base = script.src;
  compilerUrl = new URL('kelisim_compiler.js', base).href;
  formsUrl = new URL('kelisim_forms.js', base).href;
  var configUrl = script.getAttribute('data-config');
  // A compiled config, or `{raw: text}` for a raw kelisim.json (the compiler reads the text as
  // written, so its messages name lines).
  function fetchConfig(url) {
    var absolute = new URL(url, document.baseURI).href;
    return fetch(absolute, { credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.text().then(function (text) {
        var config;
        try {
          config = JSON.parse(text);
        } catch (error) {
          return { raw: text }; // the compiler says where it breaks, by line and column
        }
        if (isRaw(config)) return { raw: text };
        // After any redirect, as a page resolves its own links.
        if (config && typeof config === 'object') configUrls.set(config, response.url || absolute);
        return config;
      });
    });
  }
  // The module first: it is the larger file, and guessing the language below reads
  // document.cookie, a synchronous call into the browser's network process that may wait
  // behind the responses it is busy with.
  var moduleLoaded = load(new URL('kelisim_sdk_bg.wasm', base));
  // data-config with {lang} names compiled configs, one per language (kelisim-server's
  // /v1/config/<site>/{lang}, or the files of `config build`): the visitor's language is
  // guessed before the config is known (the saved choice, then <html lang>, then the
  // browser's languages, else the site's default); the module fetches another one through
  // configFor when its own choice differs or the visitor switches.
  if (configUrl && configUrl.indexOf('{lang}') >= 0) {
    configFor = function (language) { return fetchConfig(configUrl.replace('{lang}', language)); };
  }
  var config = configUrl
    ? (configFor ? configFor(guessLanguage()) : fetchConfig(configUrl)).catch(function (error) {
        console.error('kelisim: could not load the config from data-config="' + configUrl + '": ' + error.message +
          '. Nothing is shown until it loads.');
        return null;
      })
    : Promise.resolve(null);

  moduleLoaded
    .then(function () {
      return config.then(function (loaded) {
        // The config first: commands queued meanwhile act on the running SDK.
        if (loaded && loaded.raw !== undefined) {
          // Compiled before anything queued runs (`compiling` holds the queue).
          initRaw(loaded.raw, configUrl);
        } else if (loaded) {
          queue.unshift(['init', loaded]);
        }
        attach();
      });
    })
    .catch(function (error) {
      console.error('kelisim: could not load the SDK module next to ' + base + ': ' + error.message);
    });
})();
