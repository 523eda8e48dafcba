import { useQuery } from "@tanstack/react-query";
import { Link as RouterLink } from "react-router";
import Alert from "@mui/material/Alert";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { Alert as AlertView } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, shortId } from "../../components/Page";

/** How often alerts are re-read: the SSE stream needs a bearer header EventSource cannot send. */
export const ALERT_REFRESH_MS = 15_000;

export function AlertList({ patient }: { patient?: string }) {
  const { t, tv, formatTime } = useI18n();
  const alerts = useQuery({
    queryKey: ["alerts"],
    queryFn: () => api<{ alerts: AlertView[] }>("/api/v1/cdss/alerts", { query: { purpose: "treatment" } }),
    refetchInterval: ALERT_REFRESH_MS,
  });
  const shown = (alerts.data?.alerts ?? []).filter((a) => !patient || a.patient_id === patient);
  return (
    <div aria-live="polite">
      {alerts.isPending && <Loading />}
      <ErrorAlert error={alerts.error} />
      {alerts.data && shown.length === 0 && <Typography>{t("alerts.none")}</Typography>}
      <Stack spacing={1}>
        {shown.map((a) => (
          <Alert key={a.id} severity={a.severity === "high" || a.severity === "critical" ? "error" : "warning"}>
            <strong>{a.rule.toUpperCase()}</strong> {a.total !== null && `= ${a.total}`} · {tv("severity", a.severity)} ·{" "}
            {formatTime(a.raised_at)}
            {!patient && (
              <>
                {" · "}
                <Link component={RouterLink} to={`/doctor/patients/${a.patient_id}`}>
                  {t("consents.patient")} {shortId(a.patient_id)}
                </Link>
              </>
            )}
          </Alert>
        ))}
      </Stack>
    </div>
  );
}

export function AlertsPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("nav.alerts")}</PageTitle>
      <AlertList />
    </>
  );
}
