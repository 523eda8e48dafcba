import Alert from "@mui/material/Alert";
import { useQuery } from "@tanstack/react-query";
import { api } from "../../api";
import { useI18n } from "../../i18n";
import { ErrorAlert, isNotFound, Loading } from "../../components/Feedback";
import { PageTitle, Section } from "../../components/Page";

/**
 * Research participation. The research API is not part of this server yet: the page asks for
 * it and says plainly that it is not available when the server answers 404.
 */
export function ResearchSettingsPage() {
  const { t } = useI18n();
  const settings = useQuery({
    queryKey: ["research-participation"],
    queryFn: () => api<unknown>("/api/v1/research/participation"),
  });
  return (
    <>
      <PageTitle>{t("research.participationTitle")}</PageTitle>
      <Section title={t("research.participationTitle")}>
        {settings.isPending && <Loading />}
        {settings.isError &&
          (isNotFound(settings.error) ? (
            <Alert severity="info">{t("research.notAvailable")}</Alert>
          ) : (
            <ErrorAlert error={settings.error} />
          ))}
        {settings.data !== undefined && <Alert severity="info">{t("research.participationUnknown")}</Alert>}
      </Section>
    </>
  );
}
