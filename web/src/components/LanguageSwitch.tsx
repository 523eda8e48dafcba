import Button from "@mui/material/Button";
import { useI18n } from "../i18n";

/** Switches between Simplified Chinese and English; each label is written in its own language. */
export function LanguageSwitch({ color }: { color?: "inherit" | "primary" }) {
  const { lang, setLang } = useI18n();
  const next = lang === "en" ? "zh-CN" : "en";
  return (
    <Button
      color={color ?? "primary"}
      variant="outlined"
      lang={next}
      data-testid="language-switch"
      onClick={() => setLang(next)}
    >
      {next === "en" ? "English" : "中文"}
    </Button>
  );
}
