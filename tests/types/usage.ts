// Type-checked by `cargo xtask test` (tsc --noEmit --strict) against pkg/index.d.ts: the way a
// store's TypeScript code uses kelisim compiles, and misuse does not.
import kelisimDefault, { kelisim, ready, type KelisimConfig, type KelisimConsent } from '../../pkg/index.js';

const config: KelisimConfig = {
  site: 'glazik.kz',
  operator: { name: 'ТОО «Глазик»', bin: '180540012345', email: 'privacy@glazik.kz', address: 'Алматы' },
  policy: { version: '2026-11-01', url: { kk: '/kk/privacy', ru: '/ru/privacy' } },
  revision: 2,
  languages: ['kk', 'ru'],
  categories: [
    { id: 'necessary', required: true },
    {
      id: 'analytics',
      services: [{ id: 'yandex-metrika', name: 'Яндекс Метрика', cookies: ['_ym_*'], data: ['ip', 'pages'], country: 'RU', vendor: 'yandex-metrika' }],
    },
  ],
  ui: { layout: 'box', theme: { accent: '#1a5e20' } },
  texts: { ru: { title: 'Файлы cookie на glazik.kz' } },
};

kelisim.consentModeDefaults();
kelisim.init(config);
kelisim.on('consent', ({ action, consent }) => {
  const granted: string[] = consent.grantedCategories;
  console.log(action, granted, consent.receiptId);
});
kelisim.on('shown', ({ layer }) => console.log(layer === 'banner' || layer === 'preferences'));
kelisim.accept(['analytics'], ['yandex-metrika']);
const consent: KelisimConsent | null = kelisim.getConsent();
const analytics: boolean = kelisim.accepted('analytics');
window.kelisim.setLanguage('kk');
window.addEventListener('kelisim:change', (event) => console.log(event.detail.consent.consentId));
ready.then((api) => api.showPreferences());
console.log(kelisimDefault === kelisim, consent, analytics);

// @ts-expect-error: not an event kelisim emits
kelisim.on('consnt', () => {});
// @ts-expect-error: not a supported language
kelisim.setLanguage('de');
// @ts-expect-error: layout must be bar, box or modal
const wrongLayout: KelisimConfig['ui'] = { layout: 'popup' };
console.log(wrongLayout);
