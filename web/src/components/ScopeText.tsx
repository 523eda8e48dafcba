import type { Scope } from "../types";
import { useI18n } from "../i18n";

export function useScopeText(): (scope: Scope) => string {
  const { t, tv } = useI18n();
  return (scope) => {
    switch (scope.kind) {
      case "all":
        return t("scope.all");
      case "categories":
        return `${t("scope.categories")}: ${scope.categories.map((c) => tv("category", c)).join("、")}`;
      case "records":
        return t("scope.records", { count: scope.records.length });
    }
  };
}
