import { useApp } from "../app";
import type { Locale } from "../i18n";

/** 한국어 / English, as a labelled radio group. */
export function LanguageSwitch() {
  const { locale, setLocale, t } = useApp();
  const options: [Locale, string][] = [
    ["ko", "한국어"],
    ["en", "English"],
  ];
  return (
    <fieldset class="lang">
      <legend>{t("language")}</legend>
      {options.map(([value, label]) => (
        <label key={value}>
          <input
            type="radio"
            name="locale"
            value={value}
            checked={locale === value}
            onChange={() => setLocale(value)}
          />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
