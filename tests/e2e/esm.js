// The npm entry: `import { kelisim, ready } from 'kelisim'` (here by URL, as a bundler would
// resolve it). Calls before `ready` are queued; the API is the same object as window.kelisim.
import { kelisim, ready } from '/sdk/index.js';
import kelisimDefault from '/sdk/index.js';

const failures = [];
const expect = (condition, message) => { if (!condition) failures.push(message); };
const events = [];

try {
  expect(kelisimDefault === kelisim, 'the default export is not the API object');
  expect(window.kelisim === kelisim, 'window.kelisim is not the same object');
  const config = await (await fetch('/e2e/config.json')).json();
  kelisim.consentModeDefaults(); // the config uses Google Consent Mode
  kelisim.on('shown', () => events.push('shown'));
  kelisim.on('consent', (detail) => events.push('consent:' + detail.action));
  // A raw kelisim.json: queued until the module is ready, then compiled by the compiler
  // module; the `ready` event comes once it runs.
  const started = new Promise((resolve) => kelisim.on('ready', resolve));
  kelisim.init(config);
  const api = await ready;
  expect(api === kelisim, '`ready` did not resolve to the API');
  await started;
  expect(document.querySelector('#kelisim .kelisim-banner'), 'no banner after init');
  expect(document.querySelector('#kelisim-title').textContent === 'Мы используем файлы cookie', 'banner not in Russian');
  kelisim.rejectAll();
  expect(kelisim.accepted('analytics') === false, 'analytics granted after rejectAll');
  expect(kelisim.getConsent().deniedCategories.join() === 'analytics,marketing,functional', 'denied: ' + kelisim.getConsent().deniedCategories);
  expect(events.join() === 'shown,consent:reject_all', 'events: ' + events.join());
  const consentCommands = window.dataLayer.filter((entry) => entry[0] === 'consent').map((entry) => entry[1]);
  expect(consentCommands.join() === 'default,update', 'consent commands: ' + consentCommands.join());
} catch (error) {
  failures.push('threw: ' + error);
}
document.body.setAttribute('data-e2e-result', failures.length ? 'fail: ' + failures.join('; ') : 'pass');
