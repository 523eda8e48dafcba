import { useQuery } from "@tanstack/react-query";
import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import { useI18n } from "../../i18n";
import { ErrorAlert, isNotFound, Loading } from "../../components/Feedback";
import { PageTitle, Section } from "../../components/Page";

/**
 * Projects, cohorts and exports need the research API, which this server does not have yet:
 * the page asks for the projects and, on 404, says so instead of showing an empty list.
 */
export default function ResearcherPortal() {
  const { t } = useI18n();
  const projects = useQuery({
    queryKey: ["research-projects"],
    queryFn: () => api<{ projects: { id: string; title?: string; name?: string }[] }>("/api/v1/research/projects"),
  });
  const unavailable = projects.isError && isNotFound(projects.error);
  return (
    <>
      <PageTitle>{t("research.projects")}</PageTitle>
      <Section title={t("research.projects")}>
        {projects.isPending && <Loading />}
        {unavailable && <Alert severity="info">{t("research.notAvailable")}</Alert>}
        {projects.isError && !unavailable && <ErrorAlert error={projects.error} />}
        {projects.data?.projects?.map((p) => (
          <Typography key={p.id}>{p.title ?? p.name ?? p.id}</Typography>
        ))}
      </Section>
      <Section title={t("research.cohortBuilder")}>
        <Typography sx={{ mb: 2 }}>{t("research.cohortExplanation")}</Typography>
        <Button variant="contained" disabled={unavailable || projects.isPending}>
          {t("research.buildCohort")}
        </Button>
      </Section>
    </>
  );
}
