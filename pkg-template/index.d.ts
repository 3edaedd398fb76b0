// Types for kelisim's JS API: `window.kelisim` (script tag) and `import { kelisim } from 'kelisim'`.

export type KelisimLanguage = 'kk' | 'ru' | 'en';
export type KelisimLocalized = Partial<Record<KelisimLanguage, string>>;
export type KelisimDataKind =
  | 'name' | 'phone' | 'email' | 'address' | 'birth_date' | 'iin'
  | 'ip' | 'cookie_ids' | 'device' | 'pages' | 'clicks' | 'geolocation' | 'purchases' | 'contacts'
  | 'session_recording';
export type KelisimVendor =
  | 'google-consent-mode' | 'yandex-metrika' | 'meta-pixel' | 'gtm'
  | 'microsoft-clarity' | 'microsoft-uet' | 'tiktok-pixel';

export interface KelisimService {
  id: string;
  name: string;
  /** Cookie names or `*` patterns deleted when the service is revoked. */
  cookies?: string[];
  /** localStorage keys or `*` patterns deleted when the service is revoked. */
  local_storage?: string[];
  data?: KelisimDataKind[];
  /** ISO 3166-1 alpha-2 country of processing; anything but "KZ" is shown as a cross-border transfer. */
  country: string;
  vendor?: KelisimVendor;
  vendor_id?: string;
  cookie_paths?: string[];
}

export interface KelisimCategory {
  id: string;
  required?: boolean;
  default?: boolean;
  title?: KelisimLocalized;
  description?: KelisimLocalized;
  refusal?: KelisimLocalized;
  services?: KelisimService[];
}

export interface KelisimTexts {
  title?: string; description?: string; accept_all?: string; reject_all?: string;
  preferences?: string; save?: string; close?: string; preferences_title?: string;
  preferences_description?: string; operator_label?: string; bin_label?: string;
  policy_link?: string; expiry?: string; data_summary?: string; cross_border_notice?: string;
  cross_border_badge?: string;
  country_label?: string; data_label?: string; cookies_label?: string; always_on?: string;
  language_label?: string; withdraw?: string; refusal_label?: string; gpc_notice?: string;
  embed_notice?: string; load_once?: string; always_allow?: string; form_consent?: string;
    form_details?: string; form_withdrawal?: string; form_required_error?: string;
  /** Forms confirmed by SMS code (`"confirm": "sms"`). `sms_message` and `sms_withdraw_message`
   * are the SMS themselves and must contain `{code}`. */
  sms_phone_label?: string; sms_send?: string; sms_code_label?: string; sms_confirm?: string;
  sms_sent?: string; sms_confirmed?: string; sms_needed?: string; sms_invalid_phone?: string;
  sms_wrong_code?: string; sms_expired?: string; sms_wait?: string; sms_unavailable?: string;
  sms_message?: string; sms_withdraw_message?: string;
  /** Forms signed with an electronic signature (`"confirm": "eds"`). */
  eds_sign?: string; eds_document?: string; eds_signed?: string; eds_needed?: string;
  eds_not_running?: string; eds_cancelled?: string; eds_wrong_certificate?: string;
  eds_failed?: string; eds_document_title?: string;
  purpose_label?: string; term_label?: string;
  recipients_label?: string; publication_label?: string; yes?: string; no?: string;
  your_consent?: string; decided_label?: string; granted_label?: string; receipt_label?: string;
  receipt_pending?: string; download_receipt?: string; services_label?: string;
}

export interface KelisimConfig {
  site: string;
  /** name and address: one string, or one per language ("«Глазик» ЖШС" / "ТОО «Глазик»"). */
  operator: { name: string | KelisimLocalized; bin: string; email: string; address: string | KelisimLocalized };
  policy: { version: string; url: KelisimLocalized };
  revision?: number;
  expiry_days?: number;
  languages?: KelisimLanguage[];
  default_language?: KelisimLanguage;
  categories: KelisimCategory[];
  endpoint?: string | null;
  gpc?: boolean;
  ui?: {
    layout?: 'bar' | 'box' | 'modal';
    position?: 'bottom' | 'top' | 'bottom-left' | 'bottom-right';
    theme?: Partial<Record<'background' | 'text' | 'accent' | 'accent_text' | 'border', string>>;
    variant?: string;
    variants?: Array<{
      id: string;
      weight?: number;
      layout?: 'bar' | 'box' | 'modal';
      texts?: Partial<Record<KelisimLanguage, KelisimTexts>>;
    }>;
    hide_from_bots?: boolean;
    /** After a choice: kelisim's floating "Cookie settings" button (default), or the site's own data-kelisim="open" link. */
    reopen?: 'button' | 'link';
    reopen_position?: 'bottom-left' | 'bottom-right';
  };
  texts?: Partial<Record<KelisimLanguage, KelisimTexts>>;
  cookie_domain?: string;
    forms?: Array<{
    id: string;
    /** A stronger proof: a code sent to the visitor's phone, or their electronic signature
     * through NCALayer; both need `endpoint` to be a kelisim-server's `/v1/receipts`. */
    confirm?: 'sms' | 'eds';
    purposes: Array<{
      id: string;
      required?: boolean;
      title: KelisimLocalized;
      data: KelisimDataKind[];
      recipients?: string[];
      countries?: string[];
      term_days: number;
      publication?: boolean;
    }>;
  }>;
}

export interface KelisimConsent {
  consentId: string;
  revision: number;
  /** ISO 8601 time of the choice. */
  timestamp: string;
  language: KelisimLanguage;
  grantedCategories: string[];
  deniedCategories: string[];
  grantedServices: string[];
  deniedServices: string[];
  receiptId: string | null;
}

export type KelisimAction = 'accept_all' | 'reject_all' | 'custom' | 'withdraw' | 'gpc';

export interface KelisimEventDetails {
  ready: { consent: KelisimConsent | null };
  shown: { layer: 'banner' | 'preferences' };
  consent: { action: KelisimAction; consent: KelisimConsent };
  change: { action: KelisimAction; consent: KelisimConsent };
  withdraw: { action: 'withdraw'; consent: KelisimConsent };
}
export type KelisimEvent = keyof KelisimEventDetails;

export interface KelisimApi {
  /**
   * Starts with a compiled config (`true`; `false` and one console error naming the field when
   * it is not one). A raw kelisim.json is compiled first by the compiler module beside the
   * loader (every problem in one console error): then `undefined`, and later calls wait for it.
   */
  init(config: KelisimConfig | string): boolean | undefined;
  show(): void;
  /** Opens the preferences dialog. A served config keeps the dialog apart, so the first
   *  opening may wait for it to load; the `shown` event (`layer: 'preferences'`) says when it is
   *  open. */
  showPreferences(): void;
  hide(): void;
  acceptAll(): void;
  rejectAll(): void;
  /** Grants these categories (required ones always); named services narrow their category. */
  accept(categories: string[] | string, services?: string[] | string): boolean | undefined;
  withdraw(): void;
  /** `false` until the module is ready and a choice grants the category. */
  accepted(category: string): boolean;
  acceptedService(id: string): boolean;
  getConsent(): KelisimConsent | null;
  setLanguage(language: KelisimLanguage): void;
  on<E extends KelisimEvent>(event: E, listener: (detail: KelisimEventDetails[E]) => void): void;
  off<E extends KelisimEvent>(event: E, listener: (detail: KelisimEventDetails[E]) => void): void;
  destroy(): void;
  /** Adds the consent block of purpose set `options.set` (the config's `forms[].id`) to a form:
   *  one unticked checkbox per purpose (the required one blocks submission), the Art. 8 p.4
   *  details, and a hidden `kelisim_receipt_id` field filled on submit. */
  formConsent(form: HTMLFormElement | string, options: { set: string }): boolean | undefined;
  /** Sends Google Consent Mode v2 defaults (all denied but security) now; the npm package's
   *  equivalent of the script tag's `data-google-consent-mode`. Call it before Google tags. */
  consentModeDefaults(): void;
  /** True once the WebAssembly module has started; before that, calls are queued. */
  readonly loaded: boolean;
  /** Command-queue form: `kelisim.push(['acceptAll'])`. */
  push(command: [string, ...unknown[]]): unknown;
}

export declare const kelisim: KelisimApi;
/** Resolves once the WebAssembly module is loaded and queued calls have run. */
export declare const ready: Promise<KelisimApi>;
export default kelisim;

declare global {
  interface Window {
    kelisim: KelisimApi;
  }
  interface WindowEventMap {
    'kelisim:ready': CustomEvent<KelisimEventDetails['ready']>;
    'kelisim:shown': CustomEvent<KelisimEventDetails['shown']>;
    'kelisim:consent': CustomEvent<KelisimEventDetails['consent']>;
    'kelisim:change': CustomEvent<KelisimEventDetails['change']>;
    'kelisim:withdraw': CustomEvent<KelisimEventDetails['withdraw']>;
  }
}
