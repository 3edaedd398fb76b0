// kelisim as an ES module (npm): `import { kelisim } from 'kelisim'`.
// The same API object as the script tag's `window.kelisim`: calls made before the module is
// ready are queued. `ready` resolves once the WebAssembly module is loaded. Stores using Google
// Consent Mode call `kelisim.consentModeDefaults()` first, before any Google tag.
import './kelisim.js';
import initModule, * as sdk from './kelisim_sdk.js';

export const kelisim = window.kelisim;

export const ready = initModule().then(function () {
  kelisim.__attach(sdk);
  return kelisim;
});

export default kelisim;
