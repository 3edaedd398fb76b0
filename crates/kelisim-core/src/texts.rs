//! Built-in interface texts in Kazakh, Russian and English, and per-language overrides.
//!
//! Owns every word the banner shows that does not come from the store: button labels, the
//! legal notices (operator, cross-border transfer, expiry), the names of well-known categories,
//! of the kinds of data a service collects, and of countries. Wording follows
//! `../shared/GLOSSARY.md` so the banner speaks the same language as the store's policy.
//! Knows nothing about the DOM: the SDK inserts these strings as text, never as HTML.

use crate::language::Language;
use crate::strings::{decimal, split_once_at};
use crate::value::Fields;

/// Declares the interface texts once, as one table: the names (config keys and accessor
/// methods) and the built-in kk/ru/en wording. `Texts` and `TextOverrides` are indexed by
/// position in that table, so a text is added in one place.
macro_rules! interface_texts {
    ($($(#[doc = $doc:literal])* $name:ident => [$kk:literal, $ru:literal, $en:literal $(,)?],)*) => {
        /// The names a `texts.<lang>` object may use, in table order.
        pub const TEXT_NAMES: &[&str] = &[$(stringify!($name),)*];

        /// How many interface texts there are.
        const TEXT_COUNT: usize = TEXT_NAMES.len();

        /// Built-in wording, one row per text, in `Language::ALL` order.
        const BUILTIN_TEXTS: [[&str; 3]; TEXT_COUNT] = [$([$kk, $ru, $en],)*];

        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy)]
        enum TextIndex {
            $($name,)*
        }

        impl Texts {
            $($(#[doc = $doc])* pub fn $name(&self) -> &str {
                &self.0[TextIndex::$name as usize]
            })*
        }
    };
}

/// Every interface text for one language. An array, not a vector: each accessor indexes it
/// with a constant, so no call site carries a bounds check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Texts(Box<[String; TEXT_COUNT]>);

/// Per-language overrides from the config's `texts.<lang>` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextOverrides(Vec<Option<String>>);

impl Default for TextOverrides {
    fn default() -> Self {
        TextOverrides(vec![None; TEXT_COUNT])
    }
}

impl Texts {
    /// Replaces every text the overrides name; the rest stay built-in.
    pub fn apply(&mut self, overrides: &TextOverrides) {
        for (text, replacement) in self.0.iter_mut().zip(&overrides.0) {
            if let Some(replacement) = replacement {
                text.clone_from(replacement);
            }
        }
    }

    /// The names of all texts with their values, in table order (used to hash exactly what
    /// was shown, and by tests that check no text is empty).
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        TEXT_NAMES
            .iter()
            .copied()
            .zip(self.0.iter().map(String::as_str))
    }
}

impl Texts {
    /// No text yet: a compiled config's reader fills in those its module uses.
    pub fn empty() -> Texts {
        Texts(Box::new(std::array::from_fn(|_| String::new())))
    }

    /// Sets each text of `names` (names with their places, as [`RUNTIME_TEXTS`]) that `text`
    /// has (`None`: that text stays as it is).
    pub fn set_each(
        &mut self,
        names: &[(&str, usize)],
        mut text: impl FnMut(&str) -> Option<String>,
    ) {
        for (name, index) in names {
            if let Some(text) = text(name) {
                self.0[*index] = text;
            }
        }
    }

    /// Replaces each text `text` has a value for (the texts a compiled form that confirms
    /// by SMS or signature carries: the compiled config writes them there, not under `texts`,
    /// so a site without such a form does not load them).
    pub fn set_named(&mut self, mut text: impl FnMut(&'static str) -> Option<String>) {
        for (index, name) in TEXT_NAMES.iter().enumerate() {
            if let Some(text) = text(name) {
                self.0[index] = text;
            }
        }
    }
}

/// `names` with their places in the table of texts, found when compiling: a module that reads
/// a few texts by name does not carry the names of all.
const fn with_places<const N: usize>(names: [&'static str; N]) -> [(&'static str, usize); N] {
    let mut pairs = [("", 0); N];
    let mut i = 0;
    while i < N {
        let mut place = 0;
        while !same(TEXT_NAMES[place], names[i]) {
            // Past the end panics: a name that is not a text does not compile.
            place += 1;
        }
        pairs[i] = (names[i], place);
        i += 1;
    }
    pairs
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The texts the runtime module reads from a compiled config's `texts` (the rest are in the
/// layers' node trees, where the compiler put them). A compiled config served to a browser
/// holds these only (and a form that confirms by SMS or signature the texts of that step); a
/// tidy test checks the modules read no other.
pub const RUNTIME_TEXT_NAMES: &[&str] = &RUNTIME_TEXTS_BY_NAME;
const RUNTIME_TEXTS_BY_NAME: [&str; 5] = [
    "preferences_title",
    "policy_link",
    "embed_notice",
    "load_once",
    "always_allow",
];

/// [`RUNTIME_TEXT_NAMES`] with their places in the table of texts.
pub const RUNTIME_TEXTS: [(&str, usize); 5] = with_places(RUNTIME_TEXTS_BY_NAME);

impl TextOverrides {
    /// Reads the overrides from a `texts.<lang>` object (unknown names were rejected).
    pub fn from_fields(fields: &Fields) -> TextOverrides {
        TextOverrides::from_names(|name| fields.optional_string(name))
    }

    /// The overrides by name from `text`.
    pub fn from_names(text: impl FnMut(&'static str) -> Option<String>) -> TextOverrides {
        TextOverrides(TEXT_NAMES.iter().copied().map(text).collect())
    }

    /// The overrides of `names` (names with their places, as [`RUNTIME_TEXTS`]) from `text`.
    pub fn from_each(
        names: &[(&str, usize)],
        mut text: impl FnMut(&str) -> Option<String>,
    ) -> TextOverrides {
        let mut overrides = TextOverrides::default();
        for (name, index) in names {
            overrides.0[*index] = text(name);
        }
        overrides
    }

    /// Sets one override by name; `false` for a name that is not an interface text.
    pub fn set(&mut self, name: &str, text: &str) -> bool {
        match TEXT_NAMES.iter().position(|known| *known == name) {
            Some(index) => {
                self.0[index] = Some(text.to_owned());
                true
            }
            None => false,
        }
    }

    /// The override values that are set, with their names (validation checks each).
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        TEXT_NAMES
            .iter()
            .copied()
            .zip(&self.0)
            .filter_map(|(name, value)| Some((name, value.as_deref()?)))
    }
}

interface_texts! {
    /// Heading of the first layer.
    title => [
        "Біз cookie файлдарын қолданамыз",
        "Мы используем файлы cookie",
        "We use cookies",
    ],
    /// Body of the first layer.
    description => [
        "Қажетті cookie файлдары сайттың жұмысы үшін керек және әрқашан қосулы. Аналитикаға, маркетингке және қосымша функцияларға (карталар, чат, бейне) арналған cookie файлдарын қолдануды, сондай-ақ олармен байланысты дербес деректерді жинау мен өңдеуді тек сіздің келісіміңізбен жүзеге асырамыз.",
        "Необходимые файлы cookie нужны для работы сайта и всегда включены. Только с вашего согласия мы используем файлы cookie для аналитики, маркетинга и дополнительных функций (карты, чат, видео) и собираем и обрабатываем связанные с ними персональные данные.",
        "Necessary cookies keep the site working and are always on. Only with your consent do we use cookies for analytics, marketing and extra features (maps, chat, video), and collect and process the personal data that comes with them.",
    ],
    /// Button granting every category.
    accept_all => [
        "Барлығын қабылдау",
        "Принять все",
        "Accept all",
    ],
    /// Button refusing every optional category; as prominent as `accept_all`.
    reject_all => [
        "Барлығынан бас тарту",
        "Отклонить все",
        "Reject all",
    ],
    /// Button opening the preferences layer.
    preferences => [
        "Баптаулар",
        "Настройки",
        "Settings",
    ],
    /// Button saving the switches of the preferences layer.
    save => [
        "Таңдауымды сақтау",
        "Сохранить выбор",
        "Save my choice",
    ],
    /// Label of the close button (screen readers).
    close => [
        "Жабу",
        "Закрыть",
        "Close",
    ],
    /// Heading of the preferences layer.
    preferences_title => [
        "Cookie баптаулары",
        "Настройки cookie",
        "Cookie settings",
    ],
    /// Body of the preferences layer.
    preferences_description => [
        "Қандай cookie файлдарына рұқсат беретініңізді санат бойынша немесе әр қызмет үшін жеке таңдаңыз. Қажетті cookie файлдарын өшіруге болмайды.",
        "Выберите, какие файлы cookie разрешить: по категориям или для каждого сервиса отдельно. Необходимые файлы cookie отключить нельзя.",
        "Choose which cookies to allow, by category or for each service. Necessary cookies cannot be switched off.",
    ],
    /// Label before the operator's legal name.
    operator_label => [
        "Оператор",
        "Оператор",
        "Operator",
    ],
    /// Label before the business identification number.
    bin_label => [
        "БСН",
        "БИН",
        "BIN",
    ],
    /// Text of the policy link.
    policy_link => [
        "Дербес деректерді өңдеу саясаты",
        "Политика обработки персональных данных",
        "Personal data processing policy",
    ],
    /// The term of the consent and how to withdraw it; `{days}` becomes e.g. "365 дней".
    expiry => [
        "Келісім {days} бойы қолданылады. Кез келген уақытта «Cookie баптаулары» арқылы таңдауыңызды өзгертуге немесе келісімді кері қайтарып алуға болады.",
        "Согласие действует {days}. Изменить выбор или отозвать согласие можно в любое время в «Настройках cookie».",
        "Your consent is valid for {days}. You can change your choice or withdraw consent at any time in “Cookie settings”.",
    ],
    /// First-layer summary of what is collected and who receives it (Law 94-V Art. 8 p.4);
    /// `{data}` and `{recipients}` become lists.
    data_summary => [
        "Жиналатын дербес деректер: {data}. Деректерді алушылар (үшінші тұлғалар): {recipients}.",
        "Собираемые персональные данные: {data}. Получатели данных (третьи лица): {recipients}.",
        "Personal data collected: {data}. Recipients (third parties): {recipients}.",
    ],
    /// First-layer notice of cross-border transfer; `{countries}` becomes the country list.
    cross_border_notice => [
        "Кейбір қызметтер дербес деректерді Қазақстаннан тыс жерде өңдейді (трансшекаралық беру): {countries}.",
        "Некоторые сервисы обрабатывают персональные данные за пределами Казахстана (трансграничная передача): {countries}.",
        "Some services process personal data outside Kazakhstan (cross-border transfer): {countries}.",
    ],
    /// Badge on a service processed outside Kazakhstan.
    cross_border_badge => [
        "Трансшекаралық беру",
        "Трансграничная передача",
        "Cross-border transfer",
    ],
    /// Label of a service's country of processing.
    country_label => [
        "Өңдеу елі",
        "Страна обработки",
        "Country of processing",
    ],
    /// Label of the data a service collects.
    data_label => [
        "Жиналатын деректер",
        "Собираемые данные",
        "Data collected",
    ],
    /// Label of a service's cookie list.
    cookies_label => [
        "Cookie файлдары",
        "Файлы cookie",
        "Cookies",
    ],
    /// Shown instead of a working switch on required categories.
    always_on => [
        "Әрқашан қосулы",
        "Всегда включены",
        "Always on",
    ],
    /// Accessible name of the language switcher.
    language_label => [
        "Интерфейс тілі",
        "Язык интерфейса",
        "Interface language",
    ],
    /// Link withdrawing consent, in the preferences layer once a choice exists.
    withdraw => [
        "Келісімді кері қайтарып алу",
        "Отозвать согласие",
        "Withdraw consent",
    ],
    /// Label before what refusing a category may break.
    refusal_label => [
        "Бас тартсаңыз",
        "При отказе",
        "If you refuse",
    ],
    /// First-layer notice when the browser's Global Privacy Control signal was honoured.
    gpc_notice => [
        "Браузеріңіз Global Privacy Control (GPC) сигналын жіберді: біз оны ескердік, тек қажетті cookie файлдары қолданылады. Таңдауыңызды төменде өзгерте аласыз.",
        "Ваш браузер передал сигнал Global Privacy Control (GPC): мы его учли, используются только необходимые файлы cookie. Изменить выбор можно ниже.",
        "Your browser sent a Global Privacy Control (GPC) signal: we honoured it, and only necessary cookies are used. You can change your choice below.",
    ],
    /// Placeholder of a blocked embed (map, video); `{service}` and `{country}` are filled in.
    embed_notice => [
        "Бұл мазмұн {service} қызметінен жүктеледі, дербес деректер мына елде өңделеді: {country}. Көру үшін жүктеуге рұқсат беріңіз.",
        "Этот контент загружается с сервиса {service}, персональные данные обрабатываются в стране: {country}. Чтобы увидеть его, разрешите загрузку.",
        "This content is loaded from {service}, and personal data is processed in {country}. Allow it to see the content.",
    ],
    /// Placeholder button: load this one embed now, without changing the choice.
    load_once => [
        "Бір рет жүктеу",
        "Загрузить один раз",
        "Load once",
    ],
    /// Placeholder button: grant the embed's service from now on.
    always_allow => [
        "Әрқашан рұқсат ету",
        "Всегда разрешать",
        "Always allow",
    ],
    /// Label of a form consent checkbox; `{purpose}` is the purpose's title.
    form_consent => [
        "Мен «{purpose}» мақсатында дербес деректерімді жинауға және өңдеуге келісім беремін",
        "Я даю согласие на сбор и обработку моих персональных данных для цели «{purpose}»",
        "I consent to the collection and processing of my personal data for: {purpose}",
    ],
    /// Summary of the details of a form consent (Law 94-V Art. 8 p.4 items).
    form_details => [
        "Келісім туралы толығырақ",
        "Подробнее о согласии",
        "About this consent",
    ],
    /// How to withdraw a form consent, under the form's consent block; `{email}` is the
    /// operator's contact address.
    form_withdrawal => [
        "Келісімді кез келген уақытта операторға {email} мекенжайына жазып, кері қайтарып алуға болады.",
        "Отозвать согласие можно в любое время, написав оператору на {email}.",
        "You can withdraw this consent at any time by writing to the operator at {email}.",
    ],
    /// Error when a required form consent is not given.
    form_required_error => [
        "Жалғастыру үшін дербес деректерді жинауға және өңдеуге келісім беріңіз.",
        "Чтобы продолжить, дайте согласие на сбор и обработку персональных данных.",
        "To continue, give your consent to the collection and processing of personal data.",
    ],
    /// SMS-confirmed forms: the phone field's label.
    sms_phone_label => [
        "Ұялы телефон нөмірі",
        "Номер мобильного телефона",
        "Mobile phone number",
    ],
    /// SMS-confirmed forms: the button that sends the code.
    sms_send => [
        "Код жіберу",
        "Отправить код",
        "Send code",
    ],
    /// SMS-confirmed forms: the code field's label.
    sms_code_label => [
        "SMS-тегі код",
        "Код из SMS",
        "Code from the SMS",
    ],
    /// SMS-confirmed forms: the button that checks the code.
    sms_confirm => [
        "Растау",
        "Подтвердить",
        "Confirm",
    ],
    /// SMS-confirmed forms: said once the code is sent; `{phone}` is the number, partly hidden.
    sms_sent => [
        "Код {phone} нөміріне жіберілді.",
        "Код отправлен на номер {phone}.",
        "The code was sent to {phone}.",
    ],
    /// SMS-confirmed forms: said once the code is right and the consent recorded.
    sms_confirmed => [
        "Келісім SMS-кодпен расталды.",
        "Согласие подтверждено кодом из SMS.",
        "Your consent is confirmed by the SMS code.",
    ],
    /// SMS-confirmed forms: the form was sent before the code was confirmed.
    sms_needed => [
        "Жіберу алдында келісімді SMS-кодпен растаңыз.",
        "Перед отправкой подтвердите согласие кодом из SMS.",
        "Confirm your consent with the SMS code before sending the form.",
    ],
    /// SMS-confirmed forms: the number is not a Kazakh mobile number.
    sms_invalid_phone => [
        "Қазақстандық ұялы нөмірді енгізіңіз: +7 7XX XXX XX XX.",
        "Введите казахстанский мобильный номер: +7 7XX XXX XX XX.",
        "Enter a Kazakh mobile number: +7 7XX XXX XX XX.",
    ],
    /// SMS-confirmed forms: the code does not match.
    sms_wrong_code => [
        "Код дұрыс емес. Тексеріп, қайта енгізіңіз.",
        "Неверный код. Проверьте и введите ещё раз.",
        "That code is wrong. Check it and enter it again.",
    ],
    /// SMS-confirmed forms: the code expired, or too many wrong codes were entered.
    sms_expired => [
        "Кодтың мерзімі өтті немесе әрекеттер саны таусылды. Жаңа код сұраңыз.",
        "Срок действия кода истёк или попытки закончились. Запросите новый код.",
        "The code has expired or too many attempts were made. Ask for a new code.",
    ],
    /// SMS-confirmed forms: a new code was asked for too soon, or too many were sent.
    sms_wait => [
        "Жаңа кодты сәл кейінірек сұраңыз.",
        "Новый код можно запросить чуть позже.",
        "You can ask for a new code a little later.",
    ],
    /// SMS-confirmed forms: the gateway or the server could not send the code.
    sms_unavailable => [
        "SMS жіберу мүмкін болмады. Бір минуттан кейін қайталап көріңіз.",
        "Не удалось отправить SMS. Попробуйте ещё раз через минуту.",
        "The SMS could not be sent. Try again in a minute.",
    ],
    /// The SMS itself, confirming a consent; `{operator}` is the operator's name, `{code}`
    /// the one-time code.
    sms_message => [
        "{operator}: дербес деректерді өңдеуге келісімді растау коды {code}. Оны ешкімге айтпаңыз.",
        "{operator}: код {code} для подтверждения согласия на обработку персональных данных. Никому его не сообщайте.",
        "{operator}: your code to confirm consent to the processing of personal data is {code}. Do not share it.",
    ],
    /// The SMS itself, confirming a withdrawal; `{operator}` and `{code}` as above.
    sms_withdraw_message => [
        "{operator}: келісімді кері қайтарып алу коды {code}. Оны ешкімге айтпаңыз.",
        "{operator}: код {code} для отзыва согласия на обработку персональных данных. Никому его не сообщайте.",
        "{operator}: your code to withdraw consent to the processing of personal data is {code}. Do not share it.",
    ],
    /// Signed forms: the button that has NCALayer sign the consent document.
    eds_sign => [
        "ЭЦҚ-мен қол қою",
        "Подписать ЭЦП",
        "Sign with an electronic signature",
    ],
    /// Signed forms: the summary over the text of the document being signed.
    eds_document => [
        "Сіз қол қоятын құжат",
        "Документ, который вы подписываете",
        "The document you sign",
    ],
    /// Signed forms: said once the signature is checked and the consent recorded; `{name}` is
    /// the signer's name from the certificate.
    eds_signed => [
        "Келісімге ЭЦҚ-мен қол қойылды: {name}.",
        "Согласие подписано ЭЦП: {name}.",
        "The consent is signed: {name}.",
    ],
    /// Signed forms: the form was sent before the consent was signed.
    eds_needed => [
        "Жіберу алдында келісімге ЭЦҚ-мен қол қойыңыз.",
        "Перед отправкой подпишите согласие ЭЦП.",
        "Sign the consent with your electronic signature before sending the form.",
    ],
    /// Signed forms: NCALayer does not answer on this computer.
    eds_not_running => [
        "NCALayer іске қосылмаған. Оны ncl.pki.gov.kz сайтынан орнатып, іске қосыңыз да, қайталаңыз.",
        "NCALayer не запущен. Установите его с ncl.pki.gov.kz, запустите и попробуйте снова.",
        "NCALayer is not running. Install it from ncl.pki.gov.kz, start it and try again.",
    ],
    /// Signed forms: the visitor closed NCALayer's dialog.
    eds_cancelled => [
        "Қол қою тоқтатылды.",
        "Подписание отменено.",
        "Signing was cancelled.",
    ],
    /// Signed forms: the certificate chosen cannot sign this consent.
    eds_wrong_certificate => [
        "Бұл сертификатпен қол қоюға болмайды: оның мерзімі өткен, ол қол қоюға арналмаған немесе сенімді куәландырушы орталық бермеген. Қол қоюға арналған кілтті таңдаңыз.",
        "Этим сертификатом подписать нельзя: он истёк, не предназначен для подписи или выпущен не доверенным удостоверяющим центром. Выберите ключ для подписи.",
        "This certificate cannot sign: it has expired, is not for signing, or was not issued by a trusted certification authority. Choose your signing key.",
    ],
    /// Signed forms: the signature failed its check, or the server could not take it.
    eds_failed => [
        "Қолтаңба тексеруден өтпеді немесе сервер оны қабылдай алмады. Қайталап көріңіз.",
        "Подпись не прошла проверку или сервер не смог её принять. Попробуйте ещё раз.",
        "The signature did not pass the check, or the server could not take it. Try again.",
    ],
    /// The heading of the consent document a visitor signs with an electronic signature.
    eds_document_title => [
        "Дербес деректерді жинауға және өңдеуге келісім",
        "Согласие на сбор и обработку персональных данных",
        "Consent to the collection and processing of personal data",
    ],
    /// Details label: the purpose.
    purpose_label => [
        "Мақсаты",
        "Цель",
        "Purpose",
    ],
    /// Details label: how long the consent is valid (not how long data is stored).
    term_label => [
        "Келісімнің қолданылу мерзімі",
        "Срок действия согласия",
        "Term of the consent",
    ],
    /// Details label: the third parties who receive the data.
    recipients_label => [
        "Деректерді алушылар (үшінші тұлғалар)",
        "Получатели данных (третьи лица)",
        "Recipients (third parties)",
    ],
    /// Details label: dissemination in publicly available sources.
    publication_label => [
        "Жалпыға қолжетімді дереккөздерде тарату",
        "Распространение в общедоступных источниках",
        "Dissemination in publicly available sources",
    ],
    /// "yes" in the details.
    yes => [
        "иә",
        "да",
        "yes",
    ],
    /// "no" / "none" in the details.
    no => [
        "жоқ",
        "нет",
        "no",
    ],
    /// Heading of the "your consent" part of the preferences.
    your_consent => [
        "Сіздің келісіміңіз",
        "Ваше согласие",
        "Your consent",
    ],
    /// Label before the time of the standing choice.
    decided_label => [
        "Таңдау уақыты",
        "Время выбора",
        "Chosen at",
    ],
    /// Label before the granted categories.
    granted_label => [
        "Рұқсат етілгендер",
        "Разрешено",
        "Granted",
    ],
    /// Label before the receipt id.
    receipt_label => [
        "Түбіртек нөмірі",
        "Номер квитанции",
        "Receipt id",
    ],
    /// Shown when the receipt has not reached the server yet.
    receipt_pending => [
        "түбіртек әлі жіберілген жоқ",
        "квитанция ещё не отправлена",
        "not sent yet",
    ],
    /// Button downloading the receipt as JSON.
    download_receipt => [
        "Түбіртекті жүктеп алу (JSON)",
        "Скачать квитанцию (JSON)",
        "Download the receipt (JSON)",
    ],
    /// Heading of a category's service list.
    services_label => [
        "Қызметтер",
        "Сервисы",
        "Services",
    ],
}

/// The built-in texts for `language`.
pub fn builtin_texts(language: Language) -> Texts {
    Texts(Box::new(std::array::from_fn(|index| {
        BUILTIN_TEXTS[index][language.index()].to_owned()
    })))
}

/// "365 күн", "365 дней", "1 day": the expiry period with the right plural form.
/// `template` with every `{name}` replaced by `value`. Written out instead of `str::replace`
/// because a `&str` pattern pulls the two-way string searcher and its panic paths into the wasm
/// module; this one looks for a `{` and compares what follows.
pub fn fill(template: &str, name: &str, value: &str) -> String {
    let mut out = String::with_capacity(template.len() + value.len());
    let mut rest = template;
    while let Some((before, after_brace)) = split_once_at(rest, b'{') {
        out.push_str(before);
        match after_brace
            .strip_prefix(name)
            .and_then(|after| after.strip_prefix("}"))
        {
            Some(after) => {
                out.push_str(value);
                rest = after;
            }
            None => {
                out.push_str("{");
                rest = after_brace;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn format_days(language: Language, days: u32) -> String {
    let word = match language {
        // Kazakh nouns do not take a plural after a numeral.
        Language::Kk => "күн",
        Language::Ru => {
            let (last, last_two) = (days % 10, days % 100);
            if last == 1 && last_two != 11 {
                "день"
            } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
                "дня"
            } else {
                "дней"
            }
        }
        Language::En if days == 1 => "day",
        Language::En => "days",
    };
    // A no-break space: "365" and "күн" never wrap apart on a narrow screen.
    [&decimal(days.into()), "\u{a0}", word].concat()
}

/// Declares a table of names keyed by id, each in kk/ru/en: the key list (public, for
/// validation) and the names, one row per key.
macro_rules! named_in_three_languages {
    ($(#[doc = $doc:literal])* $keys:ident, $names:ident; $($key:literal => [$kk:literal, $ru:literal, $en:literal],)*) => {
        $(#[doc = $doc])*
        pub const $keys: &[&str] = &[$($key,)*];
        const $names: &[[&str; 3]] = &[$([$kk, $ru, $en],)*];
    };
}

/// The name of `key` in `language` from a table of `named_in_three_languages!`.
fn name_in(keys: &[&str], names: &[[&str; 3]], key: &str, language: Language) -> Option<String> {
    let index = keys.iter().position(|known| *known == key)?;
    names.get(index).map(|row| row[language.index()].to_owned())
}

/// Built-in title, description and refusal consequence of a well-known category id, so a
/// config may name `analytics` without writing its texts three times.
pub fn builtin_category_texts(id: &str, language: Language) -> Option<CategoryTexts> {
    let t = |kk: &str, ru: &str, en: &str| {
        match language {
            Language::Kk => kk,
            Language::Ru => ru,
            Language::En => en,
        }
        .to_owned()
    };
    let texts = match id {
        "necessary" => CategoryTexts {
            title: t("Қажетті", "Необходимые", "Necessary"),
            description: t(
                "Сайттың негізгі жұмысына қажет: себет, жеке кабинетке кіру, қауіпсіздік және cookie баптауларыңызды есте сақтау.",
                "Нужны для работы сайта: корзина, вход в личный кабинет, безопасность и запоминание ваших настроек cookie.",
                "Needed for the site to work: the cart, signing in, security and remembering your cookie settings.",
            ),
            refusal: None,
        },
        "analytics" => CategoryTexts {
            title: t("Аналитика", "Аналитика", "Analytics"),
            description: t(
                "Сайтқа кірулер статистикасын жинауға көмектеседі: қай беттер қаралатынын және сайттың қалай жұмыс істейтінін көреміз.",
                "Помогают собирать статистику посещений: какие страницы смотрят и как работает сайт.",
                "Help us count visits and see which pages are viewed and how the site performs.",
            ),
            refusal: Some(t(
                "сайт толық жұмыс істейді, бірақ біз оны жақсартуға қажетті статистиканы көрмейміз.",
                "сайт будет работать полностью, но мы не увидим статистику, которая помогает его улучшать.",
                "the site works fully, but we will not see the statistics we use to improve it.",
            )),
        },
        "marketing" => CategoryTexts {
            title: t("Маркетинг", "Маркетинг", "Marketing"),
            description: t(
                "Қызығушылықтарыңызға сай жарнама көрсету және жарнамалық науқандардың тиімділігін өлшеу үшін қолданылады.",
                "Используются, чтобы показывать подходящую вам рекламу и оценивать эффективность рекламных кампаний.",
                "Used to show you relevant ads and to measure how well our ad campaigns work.",
            ),
            refusal: Some(t(
                "жарнама бәрібір көрсетілуі мүмкін, бірақ ол қызығушылықтарыңыз ескеріліп таңдалмайды.",
                "реклама может показываться, но не будет учитывать ваши интересы.",
                "you may still see ads, but they will not be based on your interests.",
            )),
        },
        "functional" => CategoryTexts {
            title: t("Функционалдық", "Функциональные", "Functional"),
            description: t(
                "Карталар, онлайн-чат және бейнелер сияқты қосымша мүмкіндіктерді қосады.",
                "Включают дополнительные возможности: карты, онлайн-чат и видео.",
                "Turn on extra features such as maps, online chat and videos.",
            ),
            refusal: Some(t(
                "карталар, чат және бейнелер жүктелмейді.",
                "карты, чат и видео не будут загружаться.",
                "maps, chat and videos will not load.",
            )),
        },
        _ => return None,
    };
    Some(texts)
}

/// The texts of one category in one language.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CategoryTexts {
    /// Heading, e.g. "Аналитика".
    pub title: String,
    /// What the category is for.
    pub description: String,
    /// What refusing it may break; `None` for required categories.
    pub refusal: Option<String>,
}

named_in_three_languages! {
    /// Kinds of data a service may collect, as written in a service's `data` list.
    DATA_KINDS, DATA_KIND_NAMES;
    "name" => ["аты-жөні", "ФИО", "full name"],
    "phone" => ["телефон нөмірі", "номер телефона", "phone number"],
    "email" => ["электрондық пошта мекенжайы", "адрес электронной почты", "e-mail address"],
    "address" => ["жеткізу мекенжайы", "адрес доставки", "delivery address"],
    "birth_date" => ["туған күні", "дата рождения", "date of birth"],
    "iin" => ["ЖСН", "ИИН", "IIN (individual identification number)"],
    "ip" => ["IP-мекенжай", "IP-адрес", "IP address"],
    "cookie_ids" => ["cookie идентификаторлары", "идентификаторы cookie", "cookie identifiers"],
    "device" => [
        "құрылғы мен браузер туралы деректер",
        "данные об устройстве и браузере",
        "device and browser data"
    ],
    "pages" => ["қаралған беттер", "просмотренные страницы", "pages viewed"],
    "clicks" => [
        "басулар мен сайттағы әрекеттер",
        "клики и действия на сайте",
        "clicks and actions on the site"
    ],
    "geolocation" => ["геолокациялық деректер", "геолокационные данные", "geolocation data"],
    "purchases" => ["сатып алулар", "покупки", "purchases"],
    "contacts" => ["байланыс деректері", "контактные данные", "contact details"],
    "session_recording" => [
        "сеанс жазбасы",
        "запись сеанса",
        "session recording"
    ],
}

/// The name of a data kind from [`DATA_KINDS`] in `language`.
pub fn data_kind_name(kind: &str, language: Language) -> Option<String> {
    name_in(DATA_KINDS, DATA_KIND_NAMES, kind, language)
}

named_in_three_languages! {
    /// Countries of processing kelisim names in words; other codes are shown as the code.
    COUNTRY_CODES, COUNTRY_NAMES;
    "KZ" => ["Қазақстан", "Казахстан", "Kazakhstan"],
    "RU" => ["Ресей", "Россия", "Russia"],
    "US" => ["АҚШ", "США", "United States"],
    "IE" => ["Ирландия", "Ирландия", "Ireland"],
    "NL" => ["Нидерланды", "Нидерланды", "Netherlands"],
    "DE" => ["Германия", "Германия", "Germany"],
    "FI" => ["Финляндия", "Финляндия", "Finland"],
    "GB" => ["Ұлыбритания", "Великобритания", "United Kingdom"],
    "FR" => ["Франция", "Франция", "France"],
    "CN" => ["Қытай", "Китай", "China"],
    "KG" => ["Қырғызстан", "Кыргызстан", "Kyrgyzstan"],
    "UZ" => ["Өзбекстан", "Узбекистан", "Uzbekistan"],
    "SG" => ["Сингапур", "Сингапур", "Singapore"],
    "TR" => ["Түркия", "Турция", "Türkiye"],
    "AE" => ["БАӘ", "ОАЭ", "United Arab Emirates"],
    "MT" => ["Мальта", "Мальта", "Malta"],
}

/// The names of `kinds` in `language`, joined by ", " (unknown kinds are left out; validation
/// refuses them anyway).
pub fn data_kind_names(kinds: &[String], language: Language) -> String {
    let mut names: Vec<String> = Vec::new();
    for kind in kinds {
        if let Some(name) = data_kind_name(kind, language) {
            names.push(name);
        }
    }
    names.join(", ")
}

/// The name of a country of processing in `language`; unknown codes are shown as the code.
pub fn country_name(code: &str, language: Language) -> String {
    name_in(COUNTRY_CODES, COUNTRY_NAMES, code, language).unwrap_or_else(|| code.to_owned())
}

/// The country code a config probably meant by `written`: `RU` for "Russia", "Россия",
/// "Ресей" or "ru"; `None` when nothing fits. Only with the compiler (see `suggest`).
#[cfg(not(feature = "compile"))]
pub fn country_code_for(_written: &str) -> Option<String> {
    None
}

/// The country code a config probably meant by `written`: `RU` for "Russia", "Россия",
/// "Ресей" or "ru"; `None` when nothing fits.
#[cfg(feature = "compile")]
pub fn country_code_for(written: &str) -> Option<String> {
    let wanted = written.trim().to_lowercase();
    if wanted.len() == 2 && wanted.bytes().all(|b| b.is_ascii_lowercase()) {
        return Some(wanted.to_uppercase());
    }
    let mut names: Vec<(String, &str)> = Vec::new();
    for language in Language::ALL {
        for code in COUNTRY_CODES {
            let name = country_name(code, language).to_lowercase();
            if name == wanted {
                return Some((*code).to_owned());
            }
            names.push((name, code));
        }
    }
    let known: Vec<&str> = names.iter().map(|(name, _)| name.as_str()).collect();
    let close = crate::suggest::closest(&wanted, &known)?;
    names
        .iter()
        .find(|(name, _)| name == close)
        .map(|(_, code)| (*code).to_owned())
}

#[cfg(test)]
mod fill_tests {
    use super::fill;

    #[test]
    fn fills_every_placeholder_and_leaves_other_braces() {
        assert_eq!(fill("{a} and {a}", "a", "x"), "x and x");
        assert_eq!(fill("{b} {a", "a", "x"), "{b} {a");
        assert_eq!(fill("{ab}", "a", "x"), "{ab}");
        assert_eq!(fill("", "a", "x"), "");
        assert_eq!(fill("Қазақ {a}!", "a", "тілі"), "Қазақ тілі!");
        assert_eq!(fill("{{a}}", "a", "x"), "{x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_text_in_table_order() {
        assert_eq!(BUILTIN_TEXTS.len(), TEXT_NAMES.len());
        // Spot checks that the rows did not shift: the first, a middle and the last text.
        assert_eq!(builtin_texts(Language::En).title(), "We use cookies");
        assert_eq!(builtin_texts(Language::Ru).accept_all(), "Принять все");
        assert_eq!(builtin_texts(Language::En).services_label(), "Services");
        assert_eq!(builtin_texts(Language::Kk).services_label(), "Қызметтер");
    }

    #[test]
    fn every_key_has_a_name_in_every_language() {
        assert_eq!(DATA_KIND_NAMES.len(), DATA_KINDS.len());
        assert_eq!(COUNTRY_NAMES.len(), COUNTRY_CODES.len());
        assert_eq!(
            data_kind_name("session_recording", Language::En),
            Some("session recording".to_owned())
        );
        assert_eq!(country_name("AE", Language::Ru), "ОАЭ");
        let kinds = ["phone".to_owned(), "unknown".to_owned(), "email".to_owned()];
        assert_eq!(
            data_kind_names(&kinds, Language::En),
            "phone number, e-mail address"
        );
        let necessary = builtin_category_texts("necessary", Language::Kk).unwrap();
        assert_eq!(necessary.title, "Қажетті");
        assert_eq!(necessary.refusal, None);
        let marketing = builtin_category_texts("marketing", Language::En).unwrap();
        assert!(marketing.refusal.is_some_and(|r| !r.is_empty()));
        assert_eq!(builtin_category_texts("unknown", Language::En), None);
    }

    #[test]
    fn no_builtin_text_is_empty() {
        for language in Language::ALL {
            for (name, text) in builtin_texts(language).entries() {
                assert!(!text.trim().is_empty(), "{language}: `{name}` is empty");
            }
        }
    }

    #[test]
    fn templates_keep_their_placeholders() {
        for language in Language::ALL {
            let texts = builtin_texts(language);
            assert!(texts.expiry().contains("{days}"), "{language} expiry");
            assert!(
                texts.embed_notice().contains("{service}")
                    && texts.embed_notice().contains("{country}"),
                "{language} embed_notice"
            );
            assert!(
                texts.cross_border_notice().contains("{countries}"),
                "{language} cross_border_notice"
            );
        }
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut texts = builtin_texts(Language::Ru);
        let mut overrides = TextOverrides::default();
        assert!(overrides.set("title", "Файлы cookie на glazik.kz"));
        assert!(!overrides.set("titel", "x"));
        texts.apply(&overrides);
        assert_eq!(texts.title(), "Файлы cookie на glazik.kz");
        assert_eq!(texts.accept_all(), "Принять все");
    }

    fn check_days(language: Language, days: u32, expected: &str) {
        assert_eq!(format_days(language, days), expected);
    }

    #[test]
    fn day_plurals() {
        check_days(Language::Ru, 1, "1\u{a0}день");
        check_days(Language::Ru, 21, "21\u{a0}день");
        check_days(Language::Ru, 11, "11\u{a0}дней");
        check_days(Language::Ru, 3, "3\u{a0}дня");
        check_days(Language::Ru, 14, "14\u{a0}дней");
        check_days(Language::Ru, 365, "365\u{a0}дней");
        check_days(Language::Ru, 182, "182\u{a0}дня");
        check_days(Language::Kk, 365, "365\u{a0}күн");
        check_days(Language::En, 1, "1\u{a0}day");
        check_days(Language::En, 30, "30\u{a0}days");
    }

    #[test]
    fn every_data_kind_has_three_names() {
        for kind in DATA_KINDS {
            for language in Language::ALL {
                assert!(
                    data_kind_name(kind, language).is_some(),
                    "{kind} {language}"
                );
            }
        }
    }

    #[test]
    fn decimal_writes_every_digit() {
        for number in [0, 7, 10, 365, 1_000_001, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(decimal(number), number.to_string());
        }
    }

    #[test]
    #[cfg(feature = "compile")]
    fn country_names_suggest_their_code() {
        assert_eq!(country_code_for("Russia").as_deref(), Some("RU"));
        assert_eq!(country_code_for("Россия").as_deref(), Some("RU"));
        assert_eq!(country_code_for("ресей").as_deref(), Some("RU"));
        assert_eq!(country_code_for("Germny").as_deref(), Some("DE"));
        assert_eq!(country_code_for("kz").as_deref(), Some("KZ"));
        assert_eq!(country_code_for("Atlantis"), None);
    }

    #[test]
    fn unknown_country_is_shown_as_code() {
        assert_eq!(country_name("US", Language::Kk), "АҚШ");
        assert_eq!(country_name("BR", Language::Ru), "BR");
    }
}
