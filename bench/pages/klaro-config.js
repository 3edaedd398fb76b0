// Klaro 0.7.22 with the same three categories (purposes), four services and two languages as
// bench/pages/kelisim.json; "accept all" on the notice like the other two banners.
function klaroTexts(t) {
  return {
    consentNotice: { description: t[0] },
    ok: t[1], decline: t[2], acceptAll: t[1],
    purposes: { analytics: { title: t[3] }, marketing: { title: t[4] } }
  };
}
window.klaroConfig = {
  version: 1,
  elementID: "klaro",
  storageMethod: "cookie",
  cookieName: "klaro",
  default: false,
  mustConsent: false,
  acceptAll: true,
  hideDeclineAll: false,
  lang: "ru",
  translations: {
    ru: klaroTexts([
      "Необходимые cookie нужны для работы сайта. С вашего согласия мы также используем аналитические и маркетинговые cookie.",
      "Принять все", "Отклонить все", "Аналитика", "Маркетинг"
    ]),
    kk: klaroTexts([
      "Қажетті cookie сайттың жұмысы үшін керек. Келісіміңізбен аналитикалық және маркетингтік cookie де қолданамыз.",
      "Барлығын қабылдау", "Барлығынан бас тарту", "Аналитика", "Маркетинг"
    ])
  },
  services: [
    { name: "google-analytics", title: "Google Analytics 4", purposes: ["analytics"], cookies: [/^_ga/] },
    { name: "yandex-metrika", title: "Яндекс Метрика", purposes: ["analytics"], cookies: [/^_ym_/] },
    { name: "meta-pixel", title: "Meta Pixel", purposes: ["marketing"], cookies: ["_fbp"] },
    { name: "vk-ads", title: "VK Реклама", purposes: ["marketing"], cookies: [/^tmr_/] }
  ]
};
