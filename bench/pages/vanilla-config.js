// vanilla-cookieconsent 3.1.0 with the same three categories, four services and two languages
// as bench/pages/kelisim.json. hideFromBots is off: by default it hides itself from headless
// browsers, which would make it look free.
function section(title, description, category) {
  return { title: title, description: description, linkedCategory: category };
}
function texts(t) {
  return {
    consentModal: {
      title: t[0], description: t[1],
      acceptAllBtn: t[2], acceptNecessaryBtn: t[3], showPreferencesBtn: t[4]
    },
    preferencesModal: {
      title: t[5], acceptAllBtn: t[2], acceptNecessaryBtn: t[3], savePreferencesBtn: t[6],
      closeIconLabel: t[7],
      sections: [
        section(t[8], t[9], "necessary"),
        section(t[10], t[11], "analytics"),
        section(t[12], t[13], "marketing")
      ]
    }
  };
}
CookieConsent.run({
  hideFromBots: false,
  categories: {
    necessary: { enabled: true, readOnly: true },
    analytics: {
      autoClear: { cookies: [{ name: /^_ga/ }, { name: /^_ym_/ }] },
      services: { ga: { label: "Google Analytics 4" }, ym: { label: "Яндекс Метрика" } }
    },
    marketing: {
      autoClear: { cookies: [{ name: "_fbp" }, { name: /^tmr_/ }] },
      services: { meta: { label: "Meta Pixel" }, vk: { label: "VK Реклама" } }
    }
  },
  language: {
    default: "ru",
    autoDetect: "document",
    translations: {
      ru: texts([
        "Мы используем файлы cookie",
        "Необходимые cookie нужны для работы сайта. С вашего согласия мы также используем аналитические и маркетинговые cookie.",
        "Принять все", "Отклонить все", "Настройки", "Настройки cookie", "Сохранить выбор", "Закрыть",
        "Необходимые", "Нужны для работы сайта.", "Аналитика", "Google Analytics 4, Яндекс Метрика.",
        "Маркетинг", "Meta Pixel, VK Реклама."
      ]),
      kk: texts([
        "Біз cookie файлдарын пайдаланамыз",
        "Қажетті cookie сайттың жұмысы үшін керек. Келісіміңізбен аналитикалық және маркетингтік cookie де қолданамыз.",
        "Барлығын қабылдау", "Барлығынан бас тарту", "Баптаулар", "Cookie баптаулары", "Таңдауды сақтау", "Жабу",
        "Қажетті", "Сайттың жұмысы үшін керек.", "Аналитика", "Google Analytics 4, Яндекс Метрика.",
        "Маркетинг", "Meta Pixel, VK Реклама."
      ])
    }
  }
});
