// A small dictionary-based translation layer: Simplified Chinese by default, English on
// request; the choice persists in localStorage. Every visible string goes through t().

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { zh } from "./messages/zh";
import { en } from "./messages/en";

export type Lang = "zh-CN" | "en";
export type MessageKey = keyof typeof zh;

const dictionaries: Record<Lang, Record<MessageKey, string>> = { "zh-CN": zh, en };
const STORAGE_KEY = "meditrustal.lang";

function initialLang(): Lang {
  return localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "zh-CN";
}

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  /** Translates a key built at run time (a category, a purpose), falling back to the raw value. */
  tv: (prefix: string, value: string) => string;
  formatTime: (iso: string | number) => string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLangState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    const dictionary = dictionaries[lang];
    const t = (key: MessageKey, vars?: Record<string, string | number>) => {
      let text = dictionary[key] ?? key;
      for (const [name, replacement] of Object.entries(vars ?? {})) {
        text = text.replaceAll(`{${name}}`, String(replacement));
      }
      return text;
    };
    const tv = (prefix: string, raw: string) => {
      const key = `${prefix}.${raw}` as MessageKey;
      return key in dictionary ? dictionary[key] : raw;
    };
    const formatter = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    const formatTime = (time: string | number) => formatter.format(new Date(time));
    return { lang, setLang, t, tv, formatTime };
  }, [lang, setLang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error("useI18n outside I18nProvider");
  return context;
}
