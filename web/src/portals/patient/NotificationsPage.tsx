import { useQuery } from "@tanstack/react-query";
import Alert from "@mui/material/Alert";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { api } from "../../api";
import type { NotificationView } from "../../types";
import { useI18n } from "../../i18n";
import { ErrorAlert, Loading } from "../../components/Feedback";
import { PageTitle } from "../../components/Page";

export function NotificationsPage() {
  const { t, tv, formatTime } = useI18n();
  const notifications = useQuery({
    queryKey: ["notifications"],
    queryFn: () => api<{ notifications: NotificationView[] }>("/api/v1/notifications"),
  });
  return (
    <>
      <PageTitle>{t("notifications.title")}</PageTitle>
      {notifications.isPending && <Loading />}
      <ErrorAlert error={notifications.error} />
      {notifications.data?.notifications.length === 0 && <Typography>{t("notifications.none")}</Typography>}
      <Stack spacing={1.5}>
        {notifications.data?.notifications.map((n) => (
          <Alert key={n.id} severity={n.kind.includes("emergency") ? "warning" : "info"}>
            <strong>{tv("notification", n.kind)}</strong> · {formatTime(n.created_at)}
            {typeof n.payload.reason === "string" && (
              <Typography variant="body2">
                {t("requests.reason")}: {n.payload.reason}
              </Typography>
            )}
          </Alert>
        ))}
      </Stack>
    </>
  );
}
