// kelisim as an ES module (npm): `import { kelisim } from 'kelisim'`.
// The same API object as the script tag's `window.kelisim`: calls made before the module is
// ready are queued. `ready` resolves once the WebAssembly module is loaded. Stores using Google
// Consent Mode call `kelisim.consentModeDefaults()` first, before any Google tag.
// kelisim.js carries the module's JS glue; bundlers copy the .wasm that the URL below names.
import './kelisim.js';

export const kelisim = window.kelisim;

export const ready = kelisim.__load(new URL('./kelisim_sdk_bg.wasm', import.meta.url));

export default kelisim;
