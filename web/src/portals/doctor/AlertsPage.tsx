import { useCallback, useEffect } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link as RouterLink } from "react-router";
import Alert from "@mui/material/Alert";
import Link from "@mui/material/Link";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { api, request } from "../../api";
import type { Alert as AlertView } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle, shortId } from "../../components/Page";

/** A full re-read now and then, in case the stream was down when an alert was raised. */
export const ALERT_REFRESH_MS = 60_000;
const RECONNECT_MS = 5_000;

/**
 * Follows the server-sent alert stream and calls `onAlert` for each alert. EventSource cannot
 * send a bearer token, so the stream is read with fetch; it reconnects when it drops.
 */
function useAlertStream(onAlert: () => void) {
  useEffect(() => {
    const controller = new AbortController();
    const follow = async () => {
      while (!controller.signal.aborted) {
        try {
          const response = await request("/api/v1/cdss/alerts/stream", {
            query: { purpose: "treatment" },
            signal: controller.signal,
          });
          const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const chunk = await reader?.read();
            if (!chunk || chunk.done) break;
            buffer += chunk.value;
            let end;
            while ((end = buffer.indexOf("\n\n")) >= 0) {
              if (/^event: ?alert$/m.test(buffer.slice(0, end))) onAlert();
              buffer = buffer.slice(end + 2);
            }
          }
        } catch {
          // Dropped or refused; try again shortly unless the page is gone.
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    void follow();
    return () => controller.abort();
  }, [onAlert]);
}

export function AlertList({ patient }: { patient?: string }) {
  const { t, tv, formatTime } = useI18n();
  const queryClient = useQueryClient();
  const refresh = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: ["alerts"] });
  }, [queryClient]);
  useAlertStream(refresh);
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
          <Alert key={a.id} data-testid="alert" data-rule={a.rule} severity={a.severity === "high" || a.severity === "critical" ? "error" : "warning"}>
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

