import { useQuery } from "@tanstack/react-query";
import { Link as RouterLink, useParams } from "react-router";
import Button from "@mui/material/Button";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { RecordDetails } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, Section } from "../../components/Page";
import { RecordContent } from "../../components/RecordContent";

export function RecordPage() {
  const { id = "" } = useParams();
  const { t, tv, formatTime } = useI18n();
  const details = useQuery({
    queryKey: ["record", id],
    queryFn: () => api<RecordDetails>(`/api/v1/records/${id}`),
  });
  if (details.isPending) return <Loading />;
  if (details.isError) return <ErrorAlert error={details.error} />;
  const { record, versions } = details.data;
  return (
    <>
      <PageTitle
        action={
          <Button component={RouterLink} to="/patient">
            {t("common.back")}
          </Button>
        }
      >
        {tv("category", record.category)}
      </PageTitle>
      <Typography sx={{ mb: 2 }}>
        {t("records.created")}: {formatTime(record.created_at)} · {t("records.version")}{" "}
        {record.current_version} · {versions.at(-1)?.content_type}
      </Typography>
      <Section title={t("record.content")}>
        {record.erased_at ? <Typography>{t("records.erased")}</Typography> : <RecordContent id={id} />}
      </Section>
    </>
  );
}
