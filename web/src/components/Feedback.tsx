import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";
import { ApiError } from "../api";
import { useI18n } from "../i18n";

export function Loading() {
  const { t } = useI18n();
  return (
    <Box sx={{ display: "flex", justifyContent: "center", p: 4 }} role="status" aria-live="polite">
      <CircularProgress aria-label={t("common.loading")} />
    </Box>
  );
}

/** Shows an error in the user's language: known codes are translated, others keep the server's message. */
export function ErrorAlert({ error }: { error: unknown }) {
  const { t, tv } = useI18n();
  if (!error) return null;
  let text = t("error.unknown");
  if (error instanceof ApiError) {
    const translated = tv("error", error.code);
    text = translated === error.code ? `${error.message} (${error.code})` : translated;
  } else if (error instanceof Error) {
    text = error.message;
  }
  return (
    <Alert severity="error" role="alert" sx={{ my: 2 }}>
      {text}
    </Alert>
  );
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}
